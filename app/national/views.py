"""The national office's shell: every province at a glance, aggregates only."""

from flask import render_template
from flask_babel import gettext as _

from app.auth.areas import account_area_blueprint
from app.auth.policy import permission_required
from app.auth.roles import NATIONAL_VIEWER
from app.core.excel import xlsx_response
from app.national.services import province_rollups

bp = account_area_blueprint("national", NATIONAL_VIEWER, __name__)


@bp.route("/")
@permission_required("national.view")
def home():
    rollups = province_rollups()
    total = sum(r.certified_products or 0 for r in rollups)
    return render_template("national/home.html", rollups=rollups, total_certified=total)


@bp.route("/export.xlsx")
@permission_required("national.view")
def export():
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
        )
        for r in province_rollups()
    )
    return xlsx_response("ocop-toan-quoc.xlsx", _("Toàn quốc"), headers, rows)
