"""The province's indicators against its targets, periodic reports, target edits and rewards."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.policy import permission_required
from app.certification.counts import CountsError, certificate_counts, day_parse
from app.core import clock
from app.core.access import get_or_404
from app.core.charts import bar_chart
from app.core.excel import xlsx_response
from app.core.pagination import paginate
from app.core.pdf import FontMissing, pdf_response
from app.extensions import db
from app.planning.metrics import metric_label
from app.planning.models import Target
from app.progress.models import Entitlement
from app.progress.reports import ReportError, period_parse, report_pdf, report_sections, rounds_trend
from app.progress.rewards import (
    RewardError,
    budget_years,
    entitlement_approve,
    entitlement_pay,
    entitlements_query,
    entitlements_sync,
)
from app.progress.targets import TargetError, indicator_values, target_update, targets_progress
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("progress", __name__, template_folder="templates")

# Metric -> the filters of the dashboard's list of products behind the number (None: no list).
LISTS = {
    "certified_products": {},
    "valid_certificates": {},
    "certified_products_3_star": {"stars": "3"},
    "certified_products_4_star": {"stars": "4"},
    "certified_products_5_star": {"stars": "5"},
    "producers_htx": {"kind": "htx"},
    "producers_enterprise": {"kind": "enterprise"},
    "producers_coop_group": {"kind": "coop_group"},
    "producers_household": {"kind": "household"},
}
SHOWN = (
    "certified_products",
    "certified_products_3_star",
    "certified_products_4_star",
    "certified_products_5_star",
    "new_products",
    "upgraded_products",
    "producers",
    "producers_htx",
    "producers_enterprise",
    "producers_coop_group",
    "producers_household",
    "producers_htx_sme_percent",
    "traceability_percent",
    "tourism_products",
    "trademarks_gi",
    "exporting_products",
    "communes_with_products",
)


def _on():
    return day_parse(request.args.get("on"), clock.today())


@bp.route("/indicators")
@permission_required("planning.view")
def indicators():
    try:
        on = _on()
    except CountsError as error:
        return render_template("progress/indicators.html", error=str(error), on=None), 400
    values = indicator_values(on)
    progress = targets_progress(on, values)
    counts = certificate_counts(on)
    budgets = budget_years()
    charts = [
        bar_chart(_("Sản phẩm còn hiệu lực theo hạng sao"), [(r.label, r.valid) for r in counts.by["stars"]]),
        bar_chart(_("Sản phẩm được công nhận theo năm"), [(r.label, r.ever) for r in counts.by["year"]]),
        bar_chart(_("Sản phẩm còn hiệu lực theo huyện"), [(r.label, r.valid) for r in counts.by["district"]][:30]),
    ]
    charts += [
        bar_chart(p.target.title, [(_("Hiện có"), p.current)], target=float(p.target.value))
        for p in progress
        if p.current is not None
    ][:6]
    return render_template(
        "progress/indicators.html",
        error=None,
        on=on,
        values=values,
        shown=SHOWN,
        lists=LISTS,
        progress=progress,
        counts=counts,
        budgets=budgets,
        rounds=rounds_trend(),
        charts=charts,
        metric_label=metric_label,
        day=on.strftime("%d/%m/%Y"),
    )


@bp.route("/indicators/export.xlsx")
@permission_required("planning.view")
def indicators_export():
    try:
        on = _on()
    except CountsError as error:
        return render_template("progress/indicators.html", error=str(error), on=None), 400
    values = indicator_values(on)
    rows = [(_("Chỉ số"), metric_label(m), values[m], None, None, None) for m in SHOWN]
    rows += [
        (_("Mục tiêu"), p.target.title, p.current, p.target.value, p.gap, p.target.deadline)
        for p in targets_progress(on)
    ]
    counts = certificate_counts(on)
    for name in ("year", "district", "commune"):
        rows += [(str(name), r.label, r.valid, r.ever, None, None) for r in counts.by[name]]
    headers = [_("Phần"), _("Nội dung"), _("Hiện có / còn hiệu lực"), _("Chỉ tiêu / đã từng"), _("Còn thiếu"), _("Hạn")]
    return xlsx_response(f"chi-so-{g.tenant.slug}-{on:%Y%m%d}.xlsx", _("Chỉ số"), headers, rows)


@bp.route("/indicators/report")
@permission_required("planning.view")
def report():
    args = request.args
    try:
        period = period_parse(args.get("period"), args.get("year"), args.get("n"), clock.today())
    except ReportError as error:
        return render_template("progress/indicators.html", error=str(error), on=None), 400
    sections = report_sections(period)
    title = _("Báo cáo kết quả thực hiện Chương trình OCOP — %(period)s", period=period.label)
    name = f"bao-cao-ocop-{g.tenant.slug}-{period.year}-{period.kind}{period.number}"
    if args.get("format") == "pdf":
        try:
            return pdf_response(report_pdf(title, g.tenant.name, sections), f"{name}.pdf")
        except FontMissing as error:
            return render_template("progress/indicators.html", error=str(error), on=None), 503
    rows = [(heading, str(label), value) for heading, items in sections for label, value in items]
    return xlsx_response(f"{name}.xlsx", _("Báo cáo"), [_("Mục"), _("Nội dung"), _("Số liệu")], rows)


@bp.route("/targets/<int:target_id>/edit", methods=["GET", "POST"])
@permission_required("target.manage")
def target_edit(target_id):
    target = get_or_404(Target, target_id)
    error = None
    if request.method == "POST":
        form = request.form
        try:
            deadline = _form_day(form.get("deadline"), required=True)
            baseline_on = _form_day(form.get("baseline_on"), required=False)
            target_update(
                target,
                value=form.get("value", ""),
                deadline=deadline,
                baseline_value=form.get("baseline_value") or None,
                baseline_on=baseline_on,
            )
            db.session.commit()
            flash(_("Đã lưu mục tiêu."))
            return redirect(url_for("progress.indicators"))
        except (TargetError, CountsError) as exc:
            db.session.rollback()
            error = str(exc)
    page = render_template("progress/target_edit.html", target=target, error=error)
    # 422: the form was read and refused (the matrix tells a refused form apart from a CSRF 400).
    return (page, 422) if error else page


def _form_day(text, *, required: bool):
    text = (text or "").strip()
    if not text:
        if required:
            raise TargetError(_("Hạn không được để trống."))
        return None
    return day_parse(text, clock.today())


@bp.route("/rewards")
@permission_required("reward.view")
def rewards():
    status = request.args.get("status") or None
    if status not in (None, "computed", "approved", "paid", "rejected"):
        return render_template("progress/rewards.html", error=_("Trạng thái không hợp lệ."), page=None), 400
    entitlements_sync()  # a certificate recorded since the last minute's job shows now
    db.session.commit()
    page = paginate(entitlements_query(status), per_page=50, keyset=True)
    return render_template("progress/rewards.html", error=None, page=page, budgets=budget_years(), status=status or "")


@bp.route("/rewards/export.xlsx")
@permission_required("reward.view")
def rewards_export():
    rows = (
        (
            e.id,
            product,
            producer,
            e.stars,
            e.rule,
            e.amount_vnd,
            e.budget_year,
            e.budget_line,
            e.status,
            e.approval_ref,
            e.payment_ref,
        )
        for e, product, producer in db.session.execute(entitlements_query())
    )
    headers = [
        _("Mã"),
        _("Sản phẩm"),
        _("Chủ thể"),
        _("Hạng sao"),
        _("Quy tắc"),
        _("Số tiền"),
        _("Năm ngân sách"),
        _("Dòng ngân sách"),
        _("Trạng thái"),
        _("Quyết định phê duyệt"),
        _("Chứng từ chi"),
    ]
    return xlsx_response(f"thuong-ocop-{g.tenant.slug}.xlsx", _("Thưởng"), headers, rows)


@bp.route("/rewards/<int:entitlement_id>/<any(approve, pay):step>", methods=["POST"])
@permission_required("reward.manage")
def reward_step(entitlement_id, step):
    get_or_404(Entitlement, entitlement_id)
    action = entitlement_approve if step == "approve" else entitlement_pay
    try:
        action(current_user, entitlement_id, reference=request.form.get("reference", ""))
        db.session.commit()
        flash(_("Đã phê duyệt khoản thưởng.") if step == "approve" else _("Đã ghi nhận chi trả."))
    except RewardError as error:
        db.session.rollback()
        return render_template("progress/rewards.html", error=str(error), page=None), 422
    return redirect(url_for("progress.rewards"))
