"""The national office's shell: every province at a glance, aggregates only."""

from flask import abort, render_template, request
from flask_babel import gettext as _

from app.auth.areas import account_area_blueprint
from app.auth.policy import permission_required
from app.auth.roles import NATIONAL_VIEWER
from app.certification.counts import CountsError, day_parse
from app.core import clock
from app.core.charts import bar_chart
from app.core.excel import xlsx_response
from app.national.rollups import (
    DIMENSIONS,
    EXPIRING_DAYS,
    national_breakdown,
    national_targets,
    province_slugs,
    small_cell,
    suppressed,
)
from app.national.services import province_counts, province_rollups
from app.registry.services import PRODUCER_KIND_LABELS

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


def _filters():
    """(on, stars) from the query string; CountsError (a clear 400) on a bad date or star."""
    on = day_parse(request.args.get("on"), clock.today())
    raw = (request.args.get("stars") or "").strip()
    if raw and raw not in ("3", "4", "5"):
        raise CountsError(_("Hạng sao không hợp lệ: chọn 3, 4 hoặc 5."))
    return on, int(raw) if raw else None


def _charts(data):
    charts = [bar_chart(_("Sản phẩm còn hiệu lực theo tỉnh"), [(name, c.valid) for _s, name, c in data.provinces])]
    for dimension in ("stars", "group", "kind"):
        rows = [(_label(dimension, key), c.valid if c.valid >= small_cell() else 0) for key, c in data.by[dimension]]
        charts.append(bar_chart(str(DIMENSIONS[dimension]), rows))
    return charts


def _label(dimension, key):
    if key is None:
        return _("Chưa rõ")
    if dimension == "stars":
        return _("%(n)s sao", n=key)
    if dimension == "kind":
        return str(PRODUCER_KIND_LABELS.get(key, key))
    return key


@bp.route("/statistics")
@permission_required("national.view")
def statistics():
    try:
        on, stars = _filters()
    except CountsError as error:
        return render_template("national/statistics.html", data=None, error=str(error)), 400
    data = national_breakdown(on, stars=stars)
    return render_template(
        "national/statistics.html",
        data=data,
        charts=_charts(data),
        targets=national_targets(on),
        error=None,
        label=_label,
        dimensions=DIMENSIONS,
        cell=suppressed,
        small=small_cell(),
    )


@bp.route("/provinces/<slug>")
@permission_required("national.view")
def province(slug):
    if slug not in province_slugs():
        abort(404)
    try:
        on, stars = _filters()
    except CountsError as error:
        return render_template("national/statistics.html", data=None, error=str(error)), 400
    data = national_breakdown(on, stars=stars, slug=slug)
    return render_template(
        "national/province.html",
        data=data,
        slug=slug,
        error=None,
        label=_label,
        dimensions=DIMENSIONS,
        cell=suppressed,
        small=small_cell(),
    )


def _breakdown_rows(data):
    for _slug, name, c in data.provinces:
        yield (str(DIMENSIONS["province"]), name, c.valid, c.ever, c.expiring)
    for dimension, items in data.by.items():
        for key, c in items:
            label = _label(dimension, key)
            yield (str(DIMENSIONS[dimension]), label, suppressed(c.valid), suppressed(c.ever), suppressed(c.expiring))


def _breakdown_export(data, filename):
    headers = [
        _("Chiều"),
        _("Giá trị"),
        _("Còn hiệu lực ngày %(day)s", day=data.on.strftime("%d/%m/%Y")),
        _("Đã từng được công nhận"),
        _("Sắp hết hạn (%(days)d ngày)", days=EXPIRING_DAYS),
    ]
    return xlsx_response(filename, _("Thống kê"), headers, _breakdown_rows(data))


@bp.route("/statistics.xlsx")
@permission_required("national.view")
def statistics_export():
    try:
        on, stars = _filters()
    except CountsError as error:
        return render_template("national/statistics.html", data=None, error=str(error)), 400
    return _breakdown_export(national_breakdown(on, stars=stars), "ocop-thong-ke-toan-quoc.xlsx")


@bp.route("/provinces/<slug>/export.xlsx")
@permission_required("national.view")
def province_export(slug):
    if slug not in province_slugs():
        abort(404)
    try:
        on, stars = _filters()
    except CountsError as error:
        return render_template("national/statistics.html", data=None, error=str(error)), 400
    return _breakdown_export(national_breakdown(on, stars=stars, slug=slug), f"ocop-{slug}.xlsx")
