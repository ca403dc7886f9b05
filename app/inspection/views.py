"""The inspection policy pages: the province's policy (read) and its edit by a province admin.

The inspection work pages (queue, visits, samples, corrective actions) are another blueprint of this
feature; this one also registers what the feature contributes elsewhere: its province file section,
the certification hook that re-plans, and `flask jobs schedule-inspections`.
"""

from __future__ import annotations

import click
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.policy import permission_required
from app.certification.hooks import certification_hooks
from app.core.forms import form_saved
from app.inspection import services
from app.inspection.alerts import overdue_notices_sweep
from app.inspection.forms import KIND_LABELS, InspectionPolicyForm
from app.inspection.policy import PolicyError
from app.inspection.province import register_province_sections
from app.notices.hooks import register_daily_sweep
from jobs.cli import jobs_cli
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("inspection", __name__, url_prefix="/inspections/policy", template_folder="templates")


def _certificate_changed(cert) -> None:
    services.inspection_schedule_later()


@bp.record_once
def _register(state) -> None:
    register_province_sections(state.app)
    certification_hooks(state.app).certificate_changed.append(_certificate_changed)
    # Overdue inspections and corrective actions: told once a day, each once (app/inspection/alerts.py).
    register_daily_sweep(state.app, "inspection_overdue", overdue_notices_sweep)

    @jobs_cli(state.app).command("schedule-inspections")
    def schedule_inspections_command():
        """Queue the inspection scheduling of every active tenant now (the cron sweep, by hand)."""
        from app.inspection.jobs import schedule_inspections_everywhere

        click.echo(f"{schedule_inspections_everywhere()} tenants queued")


@bp.route("/")
@permission_required("inspection.view")
def policy():
    rules, version = services.inspection_policy_current()
    return render_template(
        "inspection/policy.html", rules=rules, version=version, row=services.inspection_policy_get(), kinds=KIND_LABELS
    )


@bp.route("/edit", methods=["GET", "POST"])
@permission_required("inspection.policy.edit")
def policy_edit():
    form = InspectionPolicyForm()
    if request.method == "GET":
        form.fill(*services.inspection_policy_current())

    def show_error(error: PolicyError) -> None:
        field = getattr(form, error.field, None) if error.field else None
        if field is None and error.field == "checklists":
            field = form.checklist_routine
        if field is None:
            flash(str(error), "error")
        else:
            field.errors = [*field.errors, str(error)]

    saved = form_saved(
        form,
        lambda: services.inspection_policy_update(current_user, form.data_for_policy(), form.expected_version()),
        PolicyError,
        show_error,
    )
    if saved is None:
        return render_template(
            "form_page.html",
            form=form,
            heading=_("Sửa chính sách kiểm tra sau chứng nhận"),
            intro=_(
                "Mỗi dòng tần suất: “sao=3; điểm=50-60; nhóm=I; tháng=6” (điểm từ … đến dưới …). "
                "Mỗi dòng danh mục kiểm tra: “mã | nội dung”. Các lần kiểm tra chưa thực hiện được lập lại theo chính sách mới."
            ),
        )
    flash(_("Đã lưu chính sách kiểm tra; lịch kiểm tra chưa thực hiện đang được lập lại."), "success")
    return redirect(url_for("inspection.policy"))
