"""The annual cycle: windows, the pipeline of applications, one application's page and actions."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.policy import can, permission_required
from app.core import clock
from app.core.excel import xlsx_response
from app.core.forms import form_saved, form_values, show_on
from app.core.i18n import format_day
from app.core.pagination import paginate
from app.cycle import checklist, services, workflow
from app.cycle.forms import (
    ApplicationActForm,
    ApplicationStartForm,
    CycleOpenForm,
    CycleWindowsForm,
    PipelineFilterForm,
)
from app.cycle.models import Cycle, EvaluationRound
from app.cycle.province import register_province_sections
from app.documents.hooks import document_hooks
from app.documents.services import DocumentError
from app.extensions import db
from app.registry.services import product_get, products_for
from tenants.models import AdminUnit
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("cycle", __name__, template_folder="templates")


@bp.record_once
def _register(state) -> None:
    """The checklists tell documents which file types a requirement takes and how long its papers
    stay valid; the province file's cycle windows are synced by this feature."""
    hooks = document_hooks(state.app)
    hooks.accepted_types = checklist.accepted_types
    hooks.validity_months = checklist.validity_months
    register_province_sections(state.app)


@bp.route("/cycles", methods=["GET", "POST"])
@permission_required("cycle.view")
def cycles():
    form = CycleOpenForm(year=clock.today().year)
    if request.method == "POST" and can(current_user, "cycle.manage"):
        cycle = form_saved(
            form, lambda: services.cycle_open(form.year.data), services.WorkflowError, show_on(form.year)
        )
        if cycle:
            flash(_("Đã mở chu trình năm %(year)d.", year=cycle.year), "success")
            return redirect(url_for("cycle.cycles"))
    items = db.session.scalars(select(Cycle).order_by(Cycle.year.desc())).all()
    rounds = db.session.scalars(select(EvaluationRound).order_by(EvaluationRound.deadline)).all()
    return render_template("cycle/cycles.html", cycles=items, rounds=rounds, form=form)


@bp.route("/cycles/<int:cycle_id>/edit", methods=["GET", "POST"])
@permission_required("cycle.manage")
def cycle_edit(cycle_id):
    cycle = services.cycle_get(cycle_id)
    form = CycleWindowsForm(obj=cycle)
    if form_saved(
        form,
        lambda: services.cycle_update_windows(cycle, **form_values(form)),
        services.WorkflowError,
        show_on(form.ideas_from),
    ):
        flash(_("Đã lưu thời gian của chu trình."), "success")
        return redirect(url_for("cycle.cycles"))
    return render_template("form_page.html", form=form, heading=_("Thời gian chu trình %(year)d", year=cycle.year))


def _pipeline():
    form = PipelineFilterForm(request.args)
    form.status.choices = [("", _("Mọi trạng thái"))] + [(k, str(v)) for k, v in workflow.STATUS_LABELS.items()]
    form.kind.choices = [("", _("Mọi loại"))] + [(k, str(v)) for k, v in workflow.KIND_LABELS.items()]
    units = db.session.scalars(select(AdminUnit).order_by(AdminUnit.name)).all()
    form.unit_id.choices = [(0, _("Tất cả xã/phường"))] + [(u.id, u.name) for u in units]
    form.validate()
    year = form.year.data or clock.today().year
    cycle = db.session.scalar(select(Cycle).where(Cycle.year == year))
    query = (
        services.applications_query_for(
            current_user,
            cycle_id=cycle.id,
            status=form.status.data or "",
            kind=form.kind.data or "",
            unit_id=form.unit_id.data,
            query=form.q.data or "",
        )
        if cycle
        else None
    )
    return form, cycle, query


@bp.route("/applications")
@permission_required("application.view")
def applications():
    form, cycle, query = _pipeline()
    counts = services.status_counts_for(current_user, cycle.id) if cycle else {}
    return render_template(
        "cycle/applications.html",
        form=form,
        cycle=cycle,
        page=paginate(query, keyset=True) if query is not None else None,
        counts=counts,
        statuses=workflow.STATUS_LABELS,
        kinds=workflow.KIND_LABELS,
    )


@bp.route("/applications/export.xlsx")
@permission_required("application.export")
def applications_export():
    _form, cycle, query = _pipeline()
    rows = db.session.execute(query.execution_options(yield_per=1000)) if query is not None else []
    headers = [
        _("Sản phẩm"),
        _("Chủ thể"),
        _("Loại đánh giá"),
        _("Trạng thái"),
        _("Cấp sơ duyệt"),
        _("Lý do trả lại gần nhất"),
        _("Cập nhật"),
    ]
    data = (
        (
            product.name,
            producer.name,
            str(workflow.KIND_LABELS[a.kind]),
            str(workflow.STATUS_LABELS[a.status]),
            a.screening_level,
            a.last_reason,
            a.updated_at,
        )
        for a, product, producer in rows
    )
    year = cycle.year if cycle else clock.today().year
    return xlsx_response(f"ho-so-ocop-{g.tenant.slug}-{year}.xlsx", _("Hồ sơ"), headers, data)


@bp.route("/applications/new", methods=["GET", "POST"])
@permission_required("application.start")
def application_new():
    cycle = services.current_cycle(clock.today())
    if cycle is None:
        flash(_("Chưa mở chu trình OCOP năm nay."), "error")
        return redirect(url_for("cycle.applications"))
    form = ApplicationStartForm()
    form.product_id.choices = [(p.id, p.name) for p in products_for(current_user, "application.start")]
    form.kind.choices = [(k, str(v)) for k, v in workflow.KIND_LABELS.items()]
    form.target_stars.choices = [(0, "—")] + [(s, _("%(n)d sao", n=s)) for s in (3, 4, 5)]

    def start():
        product = product_get(current_user, form.product_id.data, "application.start")
        application = services.application_start(
            cycle=cycle,
            product=product,
            kind=form.kind.data,
            user=current_user,
            today=clock.today(),
            idea_summary=form.idea_summary.data or "",
            target_stars=form.target_stars.data,
        )
        return application, product

    def on_error(error: services.WorkflowError) -> None:  # under the field it is about (the idea, …)
        show_on(getattr(form, error.field or "", None) or form.kind)(error)

    started = form_saved(form, start, services.WorkflowError, on_error)
    if started:
        application, product = started
        flash(_("Đã đăng ký sản phẩm %(name)s vào chu trình %(year)d.", name=product.name, year=cycle.year), "success")
        return redirect(url_for("cycle.application", application_id=application.id))
    return render_template(
        "form_page.html",
        form=form,
        submit_label=_("Gửi đăng ký"),
        heading=_("Đăng ký sản phẩm vào chu trình %(year)d", year=cycle.year),
        intro=_(
            "Nhận ý tưởng: %(start)s – %(end)s", start=format_day(cycle.ideas_from), end=format_day(cycle.ideas_until)
        ),
    )


@bp.route("/applications/<int:application_id>")
@permission_required("application.view")
def application(application_id):
    application = services.application_get(current_user, application_id)
    product, producer = services.application_parties(application)
    today = clock.today()
    return render_template(
        "cycle/application.html",
        application=application,
        product=product,
        producer=producer,
        checklist=services.application_checklist(application, today),
        history=services.application_history(application),
        actions=workflow.allowed_actions(application.status, current_user),
        # A returned idea or plan comes back filled with what was sent, to be corrected rather than retyped.
        act_form=ApplicationActForm(idea_summary=application.idea_summary, business_plan=application.business_plan),
        resubmit_from=services.idea_resubmit_from(application),
        statuses=workflow.STATUS_LABELS,
        kinds=workflow.KIND_LABELS,
        today=today,
    )


def _flash_error(error: Exception) -> None:
    flash(str(error), "error")


@bp.route("/applications/<int:application_id>/act/<action>", methods=["POST"])
@permission_required("application.view")
def application_act(application_id, action):
    application = services.application_get(current_user, application_id)
    form = ApplicationActForm()
    acted = form_saved(
        form,
        lambda: services.application_act(
            application,
            action,
            user=current_user,
            today=clock.today(),
            reason=form.reason.data or "",
            business_plan=form.business_plan.data or "",
            expected_status=form.expected_status.data or None,
            idea_summary=form.idea_summary.data or "",
        ),
        services.WorkflowError,
        _flash_error,
    )
    if acted:
        flash(_("Đã cập nhật: %(status)s.", status=workflow.STATUS_LABELS[application.status]), "success")
    return redirect(url_for("cycle.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/reuse", methods=["POST"])
@permission_required("application.view")
def application_reuse(application_id):
    application = services.application_get(current_user, application_id)
    form = ApplicationActForm()
    document_id = request.form.get("document_id", "")
    if document_id.isdigit() and form_saved(
        form,
        lambda: services.application_reuse_document(
            application, request.form.get("requirement", ""), int(document_id), clock.today()
        ),
        services.WorkflowError,
        _flash_error,
    ):
        flash(_("Đã dùng lại tài liệu còn hiệu lực."), "success")
    return redirect(url_for("cycle.application", application_id=application_id))


@bp.route("/applications/<int:application_id>/documents/<int:document_id>/remove", methods=["POST"])
@permission_required("documents.upload")
def application_document_remove(application_id, document_id):
    """Take back a file of this application's checklist before it is accepted (to upload the right one)."""
    application = services.application_get(current_user, application_id)
    form = ApplicationActForm()
    if form_saved(
        form,
        lambda: services.application_document_remove(current_user, application, document_id),
        DocumentError,
        _flash_error,
    ):
        flash(_("Đã xóa tệp."), "success")
    return redirect(url_for("cycle.application", application_id=application.id))
