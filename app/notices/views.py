"""Pages: a user's notices (the bell), the province's outbox, and the province's jobs (recent, failed,
retry). Thin: parse, call a service, render."""

from __future__ import annotations

import re

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.policy import can, permission_required
from app.core.i18n import current_language
from app.extensions import db
from app.notices import services
from app.notices.province import register_province_sections
from jobs import registry
from tenants.context import current_tenant_id
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("notices", __name__, url_prefix="/notices", template_folder="templates")
jobs_bp = tenant_blueprint("tenant_jobs", __name__, url_prefix="/jobs", template_folder="templates")
PER_PAGE = 20
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")

# What each known job does, for the jobs page (an unknown function shows its own name).
JOB_LABELS = {
    "app.notices.jobs.deliver_notice": _l("Gửi một thông báo"),
    "app.notices.jobs.deliver_pending_notices": _l("Gửi các thông báo đang chờ"),
    "app.notices.jobs.run_daily_sweeps": _l("Rà soát hằng ngày (nhắc hạn, quá hạn)"),
    "app.documents.jobs.verify_document": _l("Kiểm tra tài liệu tải lên"),
    "app.documents.jobs.requeue_stalled_documents": _l("Rà soát tài liệu chưa kiểm tra"),
    "app.exchange.jobs.run_import": _l("Nhập dữ liệu từ Excel"),
    "app.exchange.jobs.requeue_stalled_imports": _l("Rà soát lượt nhập dữ liệu"),
    "app.auth.jobs.expire_invitations": _l("Hủy lời mời hết hạn"),
}
JOB_STATES = {
    "queued": _l("Đang chờ"),
    "scheduled": _l("Chờ thử lại"),
    "deferred": _l("Chờ việc khác"),
    "started": _l("Đang chạy"),
    "finished": _l("Hoàn thành"),
    "failed": _l("Thất bại"),
}


def _unread_notices() -> int:
    if not can(current_user, "notices.view") or g.get("area") != "tenant":
        return 0
    return services.inbox_unread_count(current_user)


@bp.record_once
def _register(state) -> None:
    state.app.jinja_env.globals["unread_notices"] = _unread_notices
    state.app.jinja_env.globals["job_label"] = lambda name: str(JOB_LABELS.get(name, name))
    state.app.jinja_env.globals["job_state_label"] = lambda state_: str(JOB_STATES.get(state_, state_))
    register_province_sections(state.app)


def _page_arg() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isdigit() and 0 < len(page) < 7 else 1


@bp.route("/")
@permission_required("notices.view")
def inbox():
    page = services.inbox_page(current_user, _page_arg(), PER_PAGE, current_language())
    return render_template("notices/inbox.html", page=page)


@bp.route("/<int:notice_id>/read", methods=["POST"])
@permission_required("notices.view")
def mark_read(notice_id):
    try:
        services.notice_mark_read(current_user, notice_id)
    except LookupError:
        abort(404)
    db.session.commit()
    return redirect(url_for("notices.inbox", page=_page_arg()))


@bp.route("/read-all", methods=["POST"])
@permission_required("notices.view")
def mark_all_read():
    count = services.notices_mark_all_read(current_user)
    db.session.commit()
    flash(_("Đã đánh dấu %(n)d thông báo là đã đọc.", n=count), "success")
    return redirect(url_for("notices.inbox"))


@bp.route("/outbox")
@permission_required("notices.outbox")
def outbox():
    status = request.args.get("status") if request.args.get("status") in services.OUTBOX_STATUSES else None
    page = services.outbox_page(_page_arg(), status, PER_PAGE, current_language())
    return render_template("notices/outbox.html", page=page, status=status, platform=False)


@jobs_bp.route("/")
@permission_required("jobs.view")
def index():
    state = request.args.get("state") if request.args.get("state") in registry.STATES else None
    views = registry.tenant_jobs(current_tenant_id(), (state,) if state else tuple(registry.STATES))
    total = len(views)
    pages = max(1, -(-total // PER_PAGE))
    page = min(_page_arg(), pages)
    shown = views[(page - 1) * PER_PAGE : page * PER_PAGE]
    return render_template(
        "notices/jobs.html", jobs=shown, state=state, page=page, pages=pages, total=total, states=JOB_STATES
    )


@jobs_bp.route("/<job_id>/retry", methods=["POST"])
@permission_required("jobs.retry")
def retry(job_id):
    # Another province's job, a missing one and a malformed id all answer the same 404.
    if not JOB_ID_RE.match(job_id) or not registry.tenant_job_retry(current_tenant_id(), job_id):
        abort(404)
    flash(_("Đã đưa công việc vào hàng đợi để chạy lại."), "success")
    return redirect(url_for("tenant_jobs.index", state="failed"))
