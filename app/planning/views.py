"""The province's administrative units, councils, support policies and targets (from its definition)."""

from flask import g, render_template
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.policy import permission_required
from app.core import clock
from app.core.access import get_or_404
from app.core.excel import xlsx_response
from app.extensions import db
from app.planning.metrics import metric_label
from app.planning.models import Budget, Figure, Policy, Target
from app.planning.province import register_province_sections
from tenants.catalogue import unit_kind_label, unit_level, unit_status
from tenants.models import COUNCIL_LEVEL_LABELS, AdminUnit, Council
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("planning", __name__, template_folder="templates")
bp.add_app_template_global(metric_label, "metric_label")  # the dashboard shows figures too
bp.record_once(lambda state: register_province_sections(state.app))


@bp.route("/policies")
@permission_required("planning.view")
def policies():
    items = db.session.scalars(select(Policy).order_by(Policy.issued_on.desc().nulls_last(), Policy.code)).all()
    budgets = db.session.scalars(select(Budget).order_by(Budget.year)).all()
    return render_template("planning/policies.html", policies=items, budgets=budgets)


@bp.route("/policies/export.xlsx")
@permission_required("planning.view")
def policies_export():
    headers = [
        _("Chính sách"),
        _("Văn bản"),
        _("Ngày ban hành"),
        _("Kinh phí"),
        _("Nội dung hỗ trợ"),
        _("Mức hỗ trợ"),
        _("Tỷ lệ"),
        _("Số lượng"),
        _("Đơn vị"),
    ]
    rows = []
    for policy in db.session.scalars(select(Policy).order_by(Policy.code)):
        rows.append((policy.title, policy.act, policy.issued_on, policy.budget_vnd, None, None, None, None, None))
        rows += [
            (policy.title, None, None, None, i.title, i.amount_vnd, i.share_percent, i.quantity, i.unit)
            for i in policy.items
        ]
    return xlsx_response(f"chinh-sach-{g.tenant.slug}.xlsx", _("Chính sách"), headers, rows)


@bp.route("/policies/<int:policy_id>")
@permission_required("planning.view")
def policy(policy_id):
    return render_template("planning/policy.html", policy=get_or_404(Policy, policy_id))


@bp.route("/targets")
@permission_required("planning.view")
def targets():
    items = db.session.scalars(select(Target).order_by(Target.deadline, Target.code)).all()
    figures = db.session.scalars(select(Figure).order_by(Figure.on.desc(), Figure.metric)).all()
    return render_template("planning/targets.html", targets=items, figures=figures, today=clock.today())


@bp.route("/targets/export.xlsx")
@permission_required("planning.view")
def targets_export():
    items = db.session.scalars(select(Target).order_by(Target.deadline, Target.code)).all()
    headers = [_("Mã"), _("Mục tiêu"), _("Chỉ số"), _("So sánh"), _("Giá trị"), _("Đơn vị"), _("Hạn"), _("Nguồn")]
    rows = ((t.code, t.title, t.metric, t.comparator, t.value, t.unit, t.deadline, t.source) for t in items)
    return xlsx_response(f"muc-tieu-{g.tenant.slug}.xlsx", _("Mục tiêu"), headers, rows)


@bp.route("/units")
@permission_required("planning.view")
def units():
    today = clock.today()
    items = _units_in_order(today)
    names = {u.id: u.name for u in items}
    return render_template(
        "planning/units.html", units=items, names=names, today=today, kind_label=unit_kind_label, status=unit_status
    )


def _units_in_order(today):
    """Current units first, then by level (districts before communes) and name."""
    items = db.session.scalars(select(AdminUnit).order_by(AdminUnit.name)).all()
    return sorted(items, key=lambda u: (not u.is_valid_on(today), unit_level(u.kind) != "district", u.name))


@bp.route("/units/export.xlsx")
@permission_required("planning.view")
def units_export():
    today = clock.today()
    items = _units_in_order(today)
    names = {u.id: u.name for u in items}
    headers = [
        _("Mã"), _("Tên"), _("Cấp"), _("Trực thuộc"), _("Hiệu lực từ"), _("Hiệu lực đến"), _("Trạng thái"), _("mẫu")
    ]  # fmt: skip
    rows = (
        (
            u.code,
            u.name,
            unit_kind_label(u.name, u.kind),
            names.get(u.parent_id),
            u.valid_from,
            u.valid_to,
            unit_status(u, today),
            u.is_sample,
        )
        for u in items
    )
    return xlsx_response(f"dia-ban-{g.tenant.slug}.xlsx", _("Địa bàn"), headers, rows)


@bp.route("/councils")
@permission_required("planning.view")
def councils():
    items = db.session.scalars(select(Council).order_by(Council.level.desc(), Council.code)).all()
    return render_template("planning/councils.html", councils=items, levels=COUNCIL_LEVEL_LABELS)
