"""The national office's shell: every province at a glance, aggregates only."""

from flask import render_template, request
from flask_babel import gettext as _

from app.auth.areas import account_area_blueprint
from app.auth.policy import permission_required
from app.auth.roles import NATIONAL_VIEWER
from app.certification.counts import CountsError, day_parse
from app.core import clock
from app.core.excel import xlsx_response
from app.national.services import province_counts, province_rollups

bp = account_area_blueprint("national", NATIONAL_VIEWER, __name__)


@bp.route("/")
@permission_required("national.view")
def home():
    rollups = province_rollups()
    try:
        on = day_parse(request.args.get("on"), clock.today())
    except CountsError as error:
        page = render_template("national/home.html", rollups=rollups, counts=None, on=None, error=str(error))
        return page, 400
    counts = province_counts(on)
    totals = {
        "valid": sum(c.valid for c in counts),
        "ever": sum(c.ever for c in counts),
        "stars": {s: sum(c.valid_by_stars[s] for c in counts) for s in (3, 4, 5)},
    }
    return render_template("national/home.html", rollups=rollups, counts=counts, totals=totals, on=on, error=None)


@bp.route("/export.xlsx")
@permission_required("national.view")
def export():
    try:
        on = day_parse(request.args.get("on"), clock.today())
    except CountsError as error:
        return render_template("national/home.html", rollups=[], counts=None, on=None, error=str(error)), 400
    counts = {c.slug: c for c in province_counts(on)}
    headers = [
        _("Tỉnh"),
        _("Người dùng"),
        _("Đơn vị hành chính"),
        _("Hội đồng"),
        _("Chính sách"),
        _("Mục tiêu"),
        _("Sản phẩm OCOP (báo cáo)"),
        _("Ngày số liệu"),
        _("Chủ thể trên nền tảng"),
        _("Sản phẩm trên nền tảng"),
        _("Hồ sơ năm nay"),
        _("Còn hiệu lực ngày %(day)s", day=on.strftime("%d/%m/%Y")),
        _("Đã từng được công nhận"),
        _("3 sao còn hiệu lực"),
        _("4 sao còn hiệu lực"),
        _("5 sao còn hiệu lực"),
    ]
    rows = (
        (
            r.name,
            r.active_users,
            r.units_now,
            r.councils,
            r.policies,
            r.targets,
            r.certified_products,
            r.certified_on,
            r.producers,
            r.products,
            r.applications_this_year,
            counts[r.slug].valid,
            counts[r.slug].ever,
            *(counts[r.slug].valid_by_stars[s] for s in (3, 4, 5)),
        )
        for r in province_rollups()
    )
    return xlsx_response("ocop-toan-quoc.xlsx", _("Toàn quốc"), headers, rows)
