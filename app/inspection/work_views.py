"""Inspection work pages: the inspector's queue (phone first), one inspection (assignment, visit record,
photos, samples, corrective actions, revocation proposal), the province's list, calendar, overdue lists and
expiring certificates, with their Excel exports. Rules live in app/inspection/work.py."""

from __future__ import annotations

from datetime import timedelta
from functools import partial, wraps

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.policy import current_user_can, own_producer_id, permission_required
from app.core import clock
from app.core.excel import xlsx_response
from app.core.i18n import format_day
from app.core.pagination import paginate
from app.documents.services import document_status
from app.extensions import db
from app.inspection import work
from app.inspection.work import InspectionError
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("inspections", __name__, url_prefix="/inspections", template_folder="templates")


@bp.app_template_global()
def inspection_labels():
    return work


@bp.app_template_global()
def sees_province_inspections() -> bool:
    """Whether the menu shows the province's inspection lists (staff and inspectors, not a producer)."""
    return current_user_can("inspection.view") and own_producer_id(current_user, "inspection.view") is None


def province_view(view):
    """The province's lists: staff and inspectors (a producer sees its own in the portal)."""

    @wraps(view)
    @permission_required("inspection.view")
    def wrapped(*args, **kwargs):
        if own_producer_id(current_user, "inspection.view") is not None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


# ----------------------------------------------------------------------------- the inspector's queue


@bp.route("/queue")
@permission_required("inspection.record")
def queue():
    today = clock.today()
    return render_template("inspection/work/queue.html", rows=work.inspection_queue(current_user, today), today=today)


# ----------------------------------------------------------------------------- province views


@bp.route("/")
@province_view
def index():
    filters = work.inspection_filters(request.args)
    today = clock.today()
    rows = partial(work.inspection_rows, today=today)
    pagination = paginate(work.inspections_query(filters, today), keyset=True, rows=rows)
    return render_template(
        "inspection/work/list.html",
        filters=filters,
        pagination=pagination,
        args=filters.args(),
        inspectors=work.inspection_inspectors(),
        communes=work.inspection_communes(),
        proposals=work.proposals_open(),
        today=clock.today(),
    )


def _inspection_sheet(rows, filename: str, title: str):
    headers = [
        _("Mã"),
        _("Sản phẩm"),
        _("Chủ thể"),
        _("Xã, phường"),
        _("Loại"),
        _("Hạn"),
        _("Tình trạng"),
        _("Quá hạn"),
        _("Cán bộ kiểm tra"),
        _("Ngày kiểm tra"),
        _("Kết quả"),
    ]
    data = (
        [
            r.inspection.id,
            r.product.name,
            r.producer.name,
            r.commune or "",
            str(work.KIND_LABELS[r.inspection.kind]),
            format_day(r.inspection.due_on),
            str(work.STATUS_LABELS[r.inspection.status]),
            _("Có") if r.overdue else "",
            r.inspector.full_name if r.inspector else "",
            format_day(r.inspection.visited_on),
            str(work.OUTCOME_LABELS[r.inspection.outcome]) if r.inspection.outcome else "",
        ]
        for r in rows
    )
    return xlsx_response(filename, title, headers, data)


@bp.route("/export.xlsx")
@province_view
def export():
    rows = work.inspections_all(work.inspection_filters(request.args))
    return _inspection_sheet(rows, "kiem-tra.xlsx", _("Lượt kiểm tra"))


@bp.route("/calendar")
@province_view
def month_calendar():
    filters = work.inspection_filters(request.args)
    month = filters.month or clock.today().replace(day=1)
    previous = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return render_template(
        "inspection/work/calendar.html",
        month=month,
        weeks=work.inspections_calendar(month, filters),
        args=filters.args(),
        previous=previous if previous >= work.FIRST_DAY else None,
        following=following if following <= work.LAST_DAY else None,
        today=clock.today(),
    )


@bp.route("/overdue")
@province_view
def overdue():
    return render_template(
        "inspection/work/overdue.html",
        inspections=work.inspections_overdue(),
        actions=work.corrective_actions_overdue(),
        today=clock.today(),
    )


@bp.route("/overdue/inspections.xlsx")
@province_view
def overdue_inspections_export():
    return _inspection_sheet(work.inspections_overdue(), "kiem-tra-qua-han.xlsx", _("Kiểm tra quá hạn"))


@bp.route("/overdue/actions.xlsx")
@province_view
def overdue_actions_export():
    today = clock.today()
    headers = [_("Mã"), _("Sản phẩm"), _("Chủ thể"), _("Nội dung khắc phục"), _("Hạn"), _("Số ngày quá hạn")]
    rows = (
        [
            r.action.id,
            r.product.name,
            r.producer.name,
            r.action.description,
            format_day(r.action.due_on),
            (today - r.action.due_on).days,
        ]
        for r in work.corrective_actions_overdue(today)
    )
    return xlsx_response("khac-phuc-qua-han.xlsx", _("Khắc phục quá hạn"), headers, rows)


def _days() -> int:
    days = request.args.get("days", "")
    return int(days) if days in ("30", "60", "90") else 30


@bp.route("/expiring")
@province_view
def expiring():
    days = _days()
    return render_template(
        "inspection/work/expiring.html", days=days, rows=work.certificates_expiring(days), windows=work.EXPIRY_WINDOWS
    )


@bp.route("/expiring.xlsx")
@province_view
def expiring_export():
    headers = [_("Sản phẩm"), _("Chủ thể"), _("Hạng sao"), _("Số quyết định"), _("Hiệu lực đến"), _("Còn (ngày)")]
    rows = (
        [p.name, pr.name, c.stars, c.decision_number, format_day(c.valid_to), left]
        for c, p, pr, left in work.certificates_expiring(_days())
    )
    return xlsx_response("sap-het-han.xlsx", _("Sắp hết hạn"), headers, rows)


# ----------------------------------------------------------------------------- one inspection


def _show(inspection, error: InspectionError | None = None, status: int = 200):
    """The inspection's page; after a refused change, with its message (what was typed is re-shown)."""
    if error is not None:
        db.session.rollback()
        db.session.refresh(inspection)
    return render_template(
        "inspection/work/inspection.html",
        record=work.inspection_record(inspection),
        version=work.inspection_version(inspection),
        may_record=work.may_record(current_user, inspection),
        inspectors=work.eligible_inspectors(inspection) if inspection.status in work.OPEN_STATUSES else [],
        error=error,
        form=request.form if error is not None else {},
        today=clock.today(),
    ), status


def _posted(*names: str) -> dict:
    """The named fields of the posted form, None when absent: the services check and convert them."""
    return {name: request.form.get(name) for name in names}


def _act(inspection, change, message: str):
    """Run a change, commit and go back to the inspection; or show the page with the refusal."""
    try:
        change()
    except InspectionError as error:
        return _show(inspection, error, 422)  # refused input: a 4xx the matrix tells apart from 400 (CSRF)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("inspections.inspection", inspection_id=inspection.id))


@bp.route("/<int:inspection_id>")
@permission_required("inspection.view")
def inspection(inspection_id):
    return _show(work.inspection_get(current_user, inspection_id))


@bp.route("/<int:inspection_id>/assign", methods=["POST"])
@permission_required("inspection.manage")
def assign(inspection_id):
    inspection = work.inspection_get(current_user, inspection_id, "inspection.manage")
    form = request.form
    return _act(
        inspection,
        lambda: work.inspection_assign(current_user, inspection, form.get("inspector_id"), form.get("version")),
        _("Đã phân công cán bộ kiểm tra."),
    )


@bp.route("/<int:inspection_id>/visit", methods=["POST"])
@permission_required("inspection.record")
def visit(inspection_id):
    inspection = work.inspection_get(current_user, inspection_id, "inspection.record")
    form = request.form
    answers = {
        key.removeprefix("answer_"): (value, form.get("note_" + key.removeprefix("answer_")))
        for key, value in form.items()
        if key.startswith("answer_")
    }
    done = bool(form.get("outcome"))
    return _act(
        inspection,
        lambda: work.inspection_record_visit(
            current_user,
            inspection,
            answers=answers,
            expected_version=form.get("version"),
            **_posted("visited_on", "notes", "outcome"),
        ),
        _("Đã ghi kết quả kiểm tra.") if done else _("Đã lưu biên bản kiểm tra."),
    )


@bp.route("/<int:inspection_id>/samples", methods=["POST"])
@permission_required("inspection.record")
def sample_add(inspection_id):
    inspection = work.inspection_get(current_user, inspection_id, "inspection.record")
    return _act(
        inspection,
        lambda: work.sample_add(
            current_user, inspection, **_posted("code", "description", "taken_on", "lab_name", "sent_on")
        ),
        _("Đã ghi mẫu."),
    )


@bp.route("/<int:inspection_id>/samples/<int:sample_id>/results", methods=["POST"])
@permission_required("inspection.record")
def lab_result_add(inspection_id, sample_id):
    inspection = work.inspection_get(current_user, inspection_id, "inspection.record")
    sample = work.sample_get(inspection, sample_id)
    fields = _posted("parameter", "value", "unit", "limit_text", "passed", "conclusion", "result_on")
    return _act(
        inspection,
        lambda: work.lab_result_add(current_user, inspection, sample, **fields),
        _("Đã ghi kết quả xét nghiệm."),
    )


@bp.route("/<int:inspection_id>/actions", methods=["POST"])
@permission_required("inspection.record")
def action_add(inspection_id):
    inspection = work.inspection_get(current_user, inspection_id, "inspection.record")
    return _act(
        inspection,
        lambda: work.corrective_action_add(current_user, inspection, **_posted("description", "due_on")),
        _("Đã ghi yêu cầu khắc phục."),
    )


@bp.route("/actions/<int:action_id>/close", methods=["POST"])
@permission_required("inspection.manage")
def action_close(action_id):
    action = work.corrective_action_get(current_user, action_id)
    inspection = work.inspection_get(current_user, action.inspection_id, "inspection.manage")
    return _act(
        inspection,
        lambda: work.corrective_action_close(current_user, action, **_posted("evidence_note", "evidence_document_id")),
        _("Đã đóng yêu cầu khắc phục."),
    )


@bp.route("/<int:inspection_id>/revocation", methods=["POST"])
@permission_required("inspection.record")
def revocation_propose(inspection_id):
    inspection = work.inspection_get(current_user, inspection_id, "inspection.record")
    return _act(
        inspection,
        lambda: work.revocation_propose(current_user, inspection, **_posted("grounds", "reason")),
        _("Đã gửi đề nghị thu hồi giấy chứng nhận."),
    )


@bp.route("/proposals/<int:proposal_id>/decide", methods=["POST"])
@permission_required("inspection.manage")
def revocation_decide(proposal_id):
    proposal = work.revocation_proposal_get(current_user, proposal_id)
    inspection = work.inspection_get(current_user, proposal.inspection_id, "inspection.manage")
    accept = request.form.get("decision") == "accept"
    fields = _posted("decision_number", "decision_date")
    return _act(
        inspection,
        lambda: work.revocation_decide(
            current_user, proposal, accept=accept, note=request.form.get("decision_note"), **fields
        ),
        _("Đã thu hồi giấy chứng nhận.") if accept else _("Đã ghi quyết định không thu hồi."),
    )


# ----------------------------------------------------------------------------- uploads (JSON, for upload.js)


def _json_error(message: str, status: int = 400):
    db.session.rollback()
    return jsonify(error=message), status


@bp.route("/attachments/presign", methods=["POST"])
@permission_required("inspection.record")
def attachment_presign():
    """upload.js's presign step for a photo or document of the visit; the inspection is named in the query
    string (`?inspection=<id>`), the file in the JSON body as for any evidence upload."""
    inspection_id = work.clean_id(request.args.get("inspection"))
    if inspection_id is None:
        abort(404)
    inspection = work.inspection_get(current_user, inspection_id, "inspection.record")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(_("Yêu cầu không hợp lệ."))
    try:
        document, post = work.attachment_presign(current_user, inspection, data)
    except InspectionError as error:
        return _json_error(str(error))
    db.session.commit()
    return jsonify(
        id=document.id,
        upload=post,
        status_url=url_for("documents.status", document_id=document.id),
        confirm_url=url_for("inspections.attachment_confirm", document=document.id),
        download_url=url_for("documents.download", document_id=document.id),
    ), 201


@bp.route("/attachments/confirm", methods=["POST"])
@permission_required("inspection.record")
def attachment_confirm():
    document = work.attachment_document(current_user, request.args.get("document"))
    try:
        document = work.attachment_confirm(document)
    except InspectionError as error:
        return _json_error(str(error), 409)
    db.session.commit()  # the verification job is queued by this commit
    return jsonify(
        **document_status(document),
        status_url=url_for("documents.status", document_id=document.id),
        download_url=url_for("documents.download", document_id=document.id),
    ), 202


@bp.route("/actions/evidence/presign", methods=["POST"])
@permission_required("corrective_action.respond")
def evidence_presign():
    """upload.js's presign step for the producer's evidence of a corrective action (`?action=<id>`); the
    confirmation and the status are the documents service's own (a producer may upload its documents)."""
    action_id = work.clean_id(request.args.get("action"))
    if action_id is None:
        abort(404)
    action = work.corrective_action_get(current_user, action_id)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _json_error(_("Yêu cầu không hợp lệ."))
    try:
        document, post = work.corrective_action_respond(current_user, action, data)
    except InspectionError as error:
        return _json_error(str(error))
    db.session.commit()
    return jsonify(
        id=document.id,
        upload=post,
        status_url=url_for("documents.status", document_id=document.id),
        confirm_url=url_for("documents.confirm", document_id=document.id),
        download_url=url_for("documents.download", document_id=document.id),
    ), 201
