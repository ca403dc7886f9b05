"""Council evaluation pages: councils' members, rounds, scoring (phone-friendly), results, reviews, criteria."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.policy import can, permission_required
from app.core import clock
from app.core.excel import xlsx_response
from app.core.pagination import paginate
from app.core.pdf import pdf_response
from app.cycle.models import Application
from app.cycle.services import application_checklist
from app.evaluation import pdf as evaluation_pdf
from app.evaluation import rules, services
from app.evaluation.models import MEMBER_ROLES
from app.extensions import db
from app.registry.models import Product
from tenants.models import COUNCIL_LEVEL_LABELS, UI_COUNCIL_PREFIX
from tenants.resolution import tenant_blueprint

T = TypeVar("T")
bp = tenant_blueprint("evaluation", __name__, template_folder="templates", url_prefix="/evaluation")

ROLE_LABELS = {
    "chair": _l("Chủ tịch"),
    "vice_chair": _l("Phó Chủ tịch"),
    "member": _l("Ủy viên"),
    "secretary": _l("Thư ký"),
}
STATE_LABELS = {
    "scoring": _l("Đang chấm"),
    "spread": _l("Chênh lệch quá mức — cần chấm lại"),
    "no_quorum": _l("Chưa đủ túc số"),
    "ready": _l("Đủ điều kiện"),
    "recognised": _l("Đạt"),
    "not_recognised": _l("Không đạt hạng sao"),
    "failed_mandatory": _l("Không đạt (thiếu tiêu chí bắt buộc)"),
    "proposed_ministry": _l("Đề nghị Bộ công nhận 5 sao"),
}


@bp.context_processor
def _labels():
    return {"state_labels": STATE_LABELS}


def _day(value: str) -> date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime((value or "").strip()[:10], pattern).date()
        except ValueError:
            continue
    return None


def _int(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 18 else None


def _given(value, message):
    """The parsed value, or the page's message when the field was missing or malformed."""
    if value is None:
        raise services.EvaluationError(message)
    return value


def _done(
    save: Callable[[], T],
    target: str,
    success: str | Callable[[T], str] | None = None,
    then: Callable[[T], str] | None = None,
):
    """Run one service call: on a broken rule roll back, flash its message and go back to `target`;
    else commit, flash `success` (text, or a function of what the service returned) and go to
    `then(result)` or `target`."""
    try:
        result = save()
    except services.EvaluationError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(target)
    db.session.commit()
    if success:
        flash(success(result) if callable(success) else success, "success")
    return redirect(then(result) if then else target)


LEVEL_LABELS = COUNCIL_LEVEL_LABELS


def _council_form(council):
    """Create (council None) or edit a council; a bad value shows the form again with its message."""
    form = request.form
    if request.method == "POST":
        fields = services.CouncilFields(
            **{name: form.get(name, "") for name in services.CouncilFields.__dataclass_fields__ if name[:5] != "valid"},
            valid_from=_day(form.get("valid_from", "")),
            valid_to=_day(form.get("valid_to", "")),
        )
        try:
            saved = services.council_save(council, fields)
        except services.EvaluationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("Đã lưu Hội đồng."), "success")
            return redirect(url_for(".council", council_id=saved.id))
    return render_template(
        "evaluation/council_form.html",
        council=council,
        form=form,
        levels=LEVEL_LABELS,
        from_file=council is not None and not council.code.startswith(UI_COUNCIL_PREFIX),
    )


@bp.route("/councils/new", methods=["GET", "POST"])
@permission_required("evaluation.manage")
def council_new():
    return _council_form(None)


@bp.route("/councils/<int:council_id>/edit", methods=["GET", "POST"])
@permission_required("evaluation.manage")
def council_edit(council_id):
    return _council_form(services.council_get(council_id))


@bp.route("/councils/<int:council_id>", methods=["GET", "POST"])
@permission_required("evaluation.manage")
def council(council_id):
    council = services.council_get(council_id)
    if request.method == "POST":
        user_id = _int(request.form.get("user_id"))
        term_from, term_to = _day(request.form.get("term_from", "")), _day(request.form.get("term_to", ""))
        return _done(
            lambda: services.council_member_add(
                council, _given(user_id, _("Hãy chọn người dùng.")), request.form.get("role", ""), term_from, term_to
            ),
            url_for(".council", council_id=council_id),
            _("Đã cập nhật thành viên Hội đồng."),
        )
    return render_template(
        "evaluation/council.html",
        council=council,
        members=services.council_members(council),
        candidates=services.council_candidates(),
        roles=MEMBER_ROLES,
        role_labels=ROLE_LABELS,
    )


@bp.route("/councils/<int:council_id>/members/<int:member_id>/remove", methods=["POST"])
@permission_required("evaluation.manage")
def council_member_remove(council_id, member_id):
    council = services.council_get(council_id)
    return _done(lambda: services.council_member_remove(council, member_id), url_for(".council", council_id=council_id))


@bp.route("/rounds", methods=["GET", "POST"])
@permission_required("evaluation.view")
def rounds():
    if request.method == "POST" and can(current_user, "evaluation.manage"):
        meeting_on = _day(request.form.get("meeting_on", ""))
        council_id = _int(request.form.get("council_id"))
        missing = _("Hãy chọn Hội đồng và ngày họp (dd/mm/yyyy).")
        return _done(
            lambda: services.round_create(
                current_user, _given(council_id, missing), request.form.get("name", ""), _given(meeting_on, missing)
            ),
            url_for(".rounds"),
            then=lambda created: url_for(".round_detail", round_id=created.id),
        )
    return render_template(
        "evaluation/rounds.html",
        page=paginate(services.rounds_query(current_user), scalars=True),
        councils=services.council_list(),
    )


def _round_context(council_round):
    council = services.council_get(council_round.council_id)
    items = [
        (item, product, services.item_status(council_round, council, item))
        for item, product in services.round_products(council_round)
    ]
    return council, items


@bp.route("/rounds/<int:round_id>")
@permission_required("evaluation.view")
def round_detail(round_id):
    council_round = services.round_get(current_user, round_id)
    council, items = _round_context(council_round)
    manage = can(current_user, "evaluation.manage")
    return render_template(
        "evaluation/round.html",
        round=council_round,
        council=council,
        items=items,
        candidates=services.round_candidates() if manage and council_round.status == "open" else [],
        manage=manage,
        member=services.member_of(current_user, council_round),
    )


@bp.route("/rounds/<int:round_id>/assign", methods=["POST"])
@permission_required("evaluation.manage")
def round_assign(round_id):
    council_round = services.round_get(current_user, round_id)
    ids = [i for i in (_int(v) for v in request.form.getlist("application_id")) if i is not None]
    return _done(
        lambda: services.round_assign(council_round, ids),
        url_for(".round_detail", round_id=round_id),
        lambda count: _("Đã thêm %(n)d sản phẩm vào đợt.", n=count),
    )


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@permission_required("evaluation.manage")
def round_close(round_id):
    council_round = services.round_get(current_user, round_id)
    day = _day(request.form.get("decision_date", ""))
    return _done(
        lambda: services.round_close(
            current_user,
            council_round,
            request.form.get("decision_number", ""),
            _given(day, _("Ngày quyết định không hợp lệ (dd/mm/yyyy).")),
            request.form.get("authority", ""),
        ),
        url_for(".round_detail", round_id=round_id),
        _("Đã kết thúc đợt và ghi quyết định."),
    )


@bp.route("/rounds/<int:round_id>/minutes.xlsx")
@permission_required("evaluation.view")
def round_minutes(round_id):
    """Minutes (biên bản) and, once closed, the decision's list: one row per product with its result."""
    council_round = services.round_get(current_user, round_id)
    _council, _members, lines, parts = services.round_report(council_round)
    rows = [
        [
            line.product,
            line.counted,
            line.excluded,
            float(line.spread),
            None if line.mean is None else float(line.mean),
            *(None if line.parts.get(p) is None else float(line.parts[p]) for p in parts),
            line.stars,
            str(STATE_LABELS.get(line.outcome, line.outcome)),
            council_round.decision_number or "",
            council_round.decision_date,
        ]
        for line in lines
    ]
    headers = [_("Sản phẩm"), _("Phiếu được tính"), _("Phiếu loại do xung đột"), _("Chênh lệch"), _("Điểm trung bình")]
    headers += [_("Phần %(p)s", p=p) for p in parts]
    headers += [_("Hạng sao"), _("Kết quả"), _("Số quyết định"), _("Ngày quyết định")]
    return xlsx_response(f"bien-ban-dot-{council_round.id}.xlsx", _("Biên bản"), headers, rows)


@bp.route("/rounds/<int:round_id>/minutes.pdf")
@permission_required("evaluation.view")
def round_minutes_pdf(round_id):
    council_round = services.round_get(current_user, round_id)
    council, members, lines, parts = services.round_report(council_round)
    return pdf_response(
        evaluation_pdf.minutes_pdf(council_round, council, members, lines, parts), f"bien-ban-dot-{round_id}.pdf"
    )


def _decided_report(round_id):
    """The closed round and what its decision lists, or (for an open one) the page that says the decision
    is not made yet."""
    council_round = services.round_get(current_user, round_id)
    if council_round.status != "closed":
        flash(_("Đợt đánh giá chưa có quyết định."), "error")
        return redirect(url_for(".round_detail", round_id=round_id))
    council, _members, lines, _parts = services.round_report(council_round)
    return council_round, council, lines


@bp.route("/rounds/<int:round_id>/decision.<any(pdf, xlsx):kind>")
@permission_required("evaluation.manage")
def round_decision(round_id, kind):
    """The decision as PDF, or its list of products as Excel (recognised ones with their stars, the others
    with their outcome)."""
    decided = _decided_report(round_id)
    if not isinstance(decided, tuple):
        return decided
    council_round, council, lines = decided
    if kind == "pdf":
        return pdf_response(
            evaluation_pdf.decision_pdf(council_round, council, lines), f"quyet-dinh-dot-{round_id}.pdf"
        )
    rows = [
        [
            line.product,
            line.producer,
            None if line.mean is None else float(line.mean),
            line.stars,
            str(STATE_LABELS.get(line.outcome, line.outcome)),
            council_round.decision_number,
            council_round.decision_date,
            council_round.decision_authority or "",
        ]
        for line in lines
    ]
    headers = [
        _("Sản phẩm"),
        _("Chủ thể"),
        _("Điểm trung bình"),
        _("Hạng sao"),
        _("Kết quả"),
        _("Số quyết định"),
        _("Ngày quyết định"),
        _("Cơ quan ban hành"),
    ]
    return xlsx_response(f"quyet-dinh-dot-{round_id}.xlsx", _("Quyết định"), headers, rows)


def _item(round_id, item_id):
    council_round = services.round_get(current_user, round_id)
    return council_round, services.round_product_get(council_round, item_id)


@bp.route("/rounds/<int:round_id>/items/<int:item_id>")
@permission_required("evaluation.view")
def item_detail(round_id, item_id):
    council_round, item = _item(round_id, item_id)
    council = services.council_get(council_round.council_id)
    product = db.session.scalar(select(Product).where(Product.id == item.product_id))
    application = db.session.scalar(select(Application).where(Application.id == item.application_id))
    member = services.member_of(current_user, council_round)
    return render_template(
        "evaluation/item.html",
        round=council_round,
        item=item,
        product=product,
        checklist=application_checklist(application, clock.today()),
        criteria=services.criteria_for(council_round.act, product),
        status=services.item_status(council_round, council, item),
        member=member,
        flags=services.conflict_flags(member, item) if member else [],
        declaration=services._declaration(member, item) if member else None,
        sheet=services.sheet_of(member, item) if member else None,
        reviews=services.review_requests(item),
        reopened=services.reopened(item),
        manage=can(current_user, "evaluation.manage"),
    )


@bp.route("/rounds/<int:round_id>/items/<int:item_id>/conflict", methods=["POST"])
@permission_required("evaluation.view")
def item_conflict(round_id, item_id):
    council_round, item = _item(round_id, item_id)
    return _done(
        lambda: services.conflict_declare(
            current_user, council_round, item, request.form.get("conflicted") == "1", request.form.get("reason", "")
        ),
        url_for(".item_detail", round_id=round_id, item_id=item_id),
    )


@bp.route("/rounds/<int:round_id>/items/<int:item_id>/score", methods=["POST"])
@permission_required("evaluation.view")
def item_score(round_id, item_id):
    """Saves the criteria sent (one at a time from the page's script, or all); 'submit' hands the sheet in."""
    council_round, item = _item(round_id, item_id)
    points = {k[2:]: v for k, v in request.form.items() if k.startswith("c_")}
    target = url_for(".item_detail", round_id=round_id, item_id=item_id)
    try:
        sheet = services.score_save(current_user, council_round, item, points)
        if request.form.get("submit"):
            services.score_submit(current_user, council_round, item)
    except services.EvaluationError as error:
        db.session.rollback()
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=str(error)), 422
        flash(str(error), "error")
        return redirect(target)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(total=str(sheet.total))
    return redirect(target)


@bp.route("/rounds/<int:round_id>/items/<int:item_id>/rescore", methods=["POST"])
@permission_required("evaluation.view")
def item_rescore(round_id, item_id):
    council_round, item = _item(round_id, item_id)
    return _done(
        lambda: services.round_product_rescore(current_user, council_round, item),
        url_for(".item_detail", round_id=round_id, item_id=item_id),
        _("Đã yêu cầu Hội đồng chấm lại sản phẩm."),
    )


def _item_decision(round_id: int, item_id: int, record, success: str | None = None):
    """Record an item's outcome by a decision (number and date from the form): `record(round, item, number, day)`."""
    council_round, item = _item(round_id, item_id)
    day = _day(request.form.get("decision_date", ""))
    number = request.form.get("decision_number", "")
    return _done(
        lambda: record(council_round, item, number, _given(day, _("Ngày quyết định không hợp lệ (dd/mm/yyyy)."))),
        url_for(".item_detail", round_id=round_id, item_id=item_id),
        success,
    )


@bp.route("/rounds/<int:round_id>/items/<int:item_id>/ministry", methods=["POST"])
@permission_required("evaluation.manage")
def item_ministry(round_id, item_id):
    outcome = request.form.get("outcome", "")
    return _item_decision(
        round_id,
        item_id,
        lambda council_round, item, number, day: services.ministry_outcome_record(
            current_user, council_round, item, outcome, number, day
        ),
    )


@bp.route("/rounds/<int:round_id>/items/<int:item_id>/reviews/<int:review_id>/answer", methods=["POST"])
@permission_required("evaluation.view")
def review_answer(round_id, item_id, review_id):
    council_round, item = _item(round_id, item_id)
    return _done(
        lambda: services.review_answer(
            current_user,
            council_round,
            item,
            review_id,
            request.form.get("outcome", ""),
            request.form.get("answer", ""),
        ),
        url_for(".item_detail", round_id=round_id, item_id=item_id),
    )


@bp.route("/rounds/<int:round_id>/items/<int:item_id>/corrected", methods=["POST"])
@permission_required("evaluation.manage")
def review_result(round_id, item_id):
    """The result of a re-score on review, recorded by its decision."""
    return _item_decision(
        round_id,
        item_id,
        lambda council_round, item, number, day: services.review_result_record(
            current_user, council_round, item, number, day
        ),
        _("Đã ghi kết quả chấm lại."),
    )


@bp.route("/results")
@permission_required("evaluation.results")
def results():
    return render_template("evaluation/results.html", page=paginate(services.results_query(current_user)))


@bp.route("/results/<int:item_id>", methods=["GET", "POST"])
@permission_required("evaluation.results")
def result(item_id):
    item, product, council_round = services.producer_result_get(current_user, item_id)
    if request.method == "POST":
        return _done(
            lambda: services.review_request(current_user, council_round, item, request.form.get("reason", "")),
            url_for(".result", item_id=item_id),
            _("Đã gửi đề nghị phúc khảo."),
        )
    return render_template(
        "evaluation/result.html",
        item=item,
        product=product,
        round=council_round,
        breakdown=services.result_breakdown(council_round, item, product),
        deadline=services.review_deadline(council_round),
        reviews=services.review_requests(item),
    )


@bp.route("/criteria", methods=["GET", "POST"])
@permission_required("evaluation.manage")
def criteria():
    if request.method == "POST":
        upload = request.files.get("file")
        return _done(
            lambda: services.criteria_import(
                current_user,
                request.form.get("act", ""),
                request.form.get("group", "*"),
                _given(upload, _("Hãy chọn tệp bộ tiêu chí.")).read(200_000),
            ),
            url_for(".criteria"),
            _("Đã nhập bộ tiêu chí."),
        )
    return render_template(
        "evaluation/criteria.html", templates=services.criteria_templates(), versions=rules.versions()
    )
