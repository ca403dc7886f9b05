"""Inspection work: the inspector's queue, assignment, the visit record (checklist, photos and documents,
samples and lab results, outcome), corrective actions, revocation proposals; the province's lists,
calendar, overdue lists and expiring certificates; the producer's own view.

Services take what a form sent (strings) and refuse anything wrong with an InspectionError whose message
is translated and names the field; views only parse the request and render. Access: `can(user, action)`
(app/auth/policy.py) plus scopes applied here (a producer: its own products; an inspector records only
what is assigned to them), a record out of scope answering 404 like a missing one. State changes lock the
inspection row and check the version the page showed (`updated_at`), so two people acting at once give
one change and a clear "changed meanwhile" to the other.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import any_, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.auth.policy import can, own_producer_id
from app.certification.models import Certificate
from app.certification.services import CertificateError, certificate_revoke, certificate_valid_on
from app.core import clock
from app.core.access import MAX_ID, get_or_404
from app.core.text import nfc
from app.documents.models import Document
from app.documents.services import DocumentError, document_confirm, document_get, document_presign
from app.extensions import db
from app.inspection.models import (
    ANSWERS,
    OPEN_STATUSES,
    OUTCOMES,
    REVOCATION_GROUNDS,
    STATUSES,
    CorrectiveAction,
    Inspection,
    InspectionAnswer,
    InspectionAttachment,
    InspectionSample,
    LabResult,
    RevocationProposal,
)
from app.inspection.services import (
    corrective_action_overdue,
    inspection_overdue,
    inspection_rules,
    inspection_schedule_later,
    inspector_allowed,
    inspectors_eligible,
)
from app.registry.models import Producer, Product
from tenants.models import AdminUnit

KIND_LABELS = {
    "routine": _l("Định kỳ"),
    "sampling": _l("Lấy mẫu"),
    "expiry_review": _l("Trước khi hết hạn"),
    "follow_up": _l("Kiểm tra lại"),
    "ad_hoc": _l("Đột xuất"),
}
STATUS_LABELS = {
    "planned": _l("Đã lên kế hoạch"),
    "assigned": _l("Đã phân công"),
    "done": _l("Đã kiểm tra"),
    "cancelled": _l("Đã hủy"),
}
OUTCOME_LABELS = {"pass": _l("Đạt"), "minor": _l("Lỗi nhẹ"), "major": _l("Lỗi nghiêm trọng")}
ANSWER_LABELS = {"yes": _l("Đạt"), "no": _l("Không đạt"), "na": _l("Không áp dụng")}
GROUND_LABELS = {
    "process": _l("Không duy trì quy trình sản xuất"),
    "food_safety": _l("Vi phạm an toàn thực phẩm"),
    "records": _l("Hồ sơ không trung thực"),
    "stopped": _l("Ngừng sản xuất"),
    "mandatory_criteria": _l("Không đạt tiêu chí bắt buộc"),
    "other": _l("Lý do khác"),
}
ACTION_LABELS = {"open": _l("Đang mở"), "closed": _l("Đã đóng"), "cancelled": _l("Đã hủy")}
PROPOSAL_LABELS = {
    "proposed": _l("Đang chờ quyết định"),
    "accepted": _l("Đã chấp nhận (thu hồi)"),
    "rejected": _l("Không chấp nhận"),
    "withdrawn": _l("Đã rút"),
}
DOCUMENT_STATUS_LABELS = {
    "awaiting_upload": _l("Đang tải lên"),
    "pending": _l("Đang chờ kiểm tra"),
    "verifying": _l("Đang kiểm tra tệp"),
    "accepted": _l("Đã kiểm tra"),
    "rejected": _l("Bị từ chối"),
}
PHOTO_REQUIREMENT, DOCUMENT_REQUIREMENT = "inspection_photo", "inspection_document"
EVIDENCE_REQUIREMENT = "corrective_evidence"  # the producer's answer to a corrective action
ROLE_BY_REQUIREMENT = {PHOTO_REQUIREMENT: "photo", DOCUMENT_REQUIREMENT: "document"}
EXPIRY_WINDOWS = (30, 60, 90)
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)  # days a record may name


class InspectionError(ValueError):
    """A refused change; the message is translated and safe to show, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class InspectionChangedMeanwhile(InspectionError):
    def __init__(self):
        super().__init__(_("Lượt kiểm tra đã được người khác thay đổi, vui lòng tải lại trang."))


# ----------------------------------------------------------------------------- input


def clean_text(value, field: str, *, required: bool = False, max_length: int = 2000) -> str:
    value = "" if value is None else str(value)
    if "\x00" in value:
        raise InspectionError(_("Không được chứa ký tự NUL."), field)
    value = nfc(value).strip()
    if not value:
        if required:
            raise InspectionError(_("Bắt buộc nhập."), field)
        return ""
    if value.startswith("="):
        raise InspectionError(_("Không được bắt đầu bằng dấu '=' (công thức)."), field)
    if len(value) > max_length:
        raise InspectionError(_("Dài quá %(n)d ký tự.", n=max_length), field)
    return value


def clean_day(value, field: str, *, required: bool = True, not_after: date | None = None) -> date | None:
    """dd/mm/yyyy (the house format) or yyyy-mm-dd (a phone's date picker), from 2000 to 2100."""
    if isinstance(value, date):
        day = value
    else:
        text = clean_text(value, field, required=required, max_length=10_000)
        if not text:
            return None
        day = None
        text = text if len(text) <= 20 else ""  # no day is written that long: refused below
        for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                day = datetime.strptime(text.replace("-", "/") if fmt == "%d/%m/%Y" else text, fmt).date()
                break
            except ValueError:
                continue
        if day is None:
            raise InspectionError(_("Ngày không hợp lệ, hãy ghi dd/mm/yyyy (ví dụ 05/03/2020)."), field)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InspectionError(_("Ngày phải từ 01/01/2000 đến 31/12/2100."), field)
    if not_after is not None and day > not_after:
        raise InspectionError(_("Ngày không được sau hôm nay."), field)
    return day


def clean_choice(value, allowed, field: str, message: str) -> str:
    value = "" if value is None else str(value)
    if value not in allowed:
        raise InspectionError(message, field)
    return value


def clean_id(value) -> int | None:
    """An id typed in a form or a query string: digits within bigint, else None (a missing id)."""
    text = "" if value is None else str(value).strip()
    if not text.isdigit() or len(text) > 19 or not 0 < int(text) <= MAX_ID:
        return None
    return int(text)


# ----------------------------------------------------------------------------- access


def _producer_of(inspection: Inspection) -> int:
    return db.session.scalar(select(Product.producer_id).where(Product.id == inspection.product_id))


def inspection_get(user, inspection_id: int, action: str = "inspection.view") -> Inspection:
    """One inspection the user may reach through the action: a producer only its own products'."""
    inspection = get_or_404(Inspection, inspection_id)
    if not can(user, action):
        abort(404)
    own = own_producer_id(user, action)
    if own is not None and own != _producer_of(inspection):
        abort(404)
    return inspection


def may_record(user, inspection: Inspection) -> bool:
    """Officers record any visit; an inspector only the ones assigned to them."""
    if can(user, "inspection.manage"):
        return True
    return can(user, "inspection.record") and inspection.inspector_id == user.id


def _require_record(user, inspection: Inspection) -> None:
    if not may_record(user, inspection):
        raise InspectionError(_("Lượt kiểm tra này không được phân công cho bạn."))
    if inspection.status == "cancelled":
        raise InspectionError(_("Lượt kiểm tra đã bị hủy."))


def _require_manage(user) -> None:
    if not can(user, "inspection.manage"):
        raise InspectionError(_("Chỉ cán bộ tỉnh được làm việc này."))


def inspection_version(inspection: Inspection) -> str:
    return inspection.updated_at.isoformat() if inspection.updated_at else ""


def _lock(inspection: Inspection, expected_version: str | None) -> Inspection:
    """Lock the row and check the version the page showed (None: do not check)."""
    db.session.refresh(inspection, with_for_update=True)
    if expected_version is not None and expected_version != inspection_version(inspection):
        raise InspectionChangedMeanwhile()
    return inspection


def _touch(inspection: Inspection) -> None:
    inspection.updated_at = clock.now()  # the next guarded change sees a new version


# ----------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class InspectionRow:
    inspection: Inspection
    product: Product
    producer: Producer
    inspector: User | None
    commune: str | None
    overdue: bool


def _rows(stmt, today: date) -> list[InspectionRow]:
    return inspection_rows(db.session.execute(stmt).all(), today)


def inspection_rows(rows, today: date) -> list[InspectionRow]:
    """Rows of inspections_query() as the lists show them: with the inspector (one query) and whether overdue."""
    inspector_ids = {r[0].inspector_id for r in rows if r[0].inspector_id}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(inspector_ids)))} if inspector_ids else {}
    )
    out = []
    for inspection, product, producer, commune in rows:
        overdue = inspection.status in OPEN_STATUSES and inspection.due_on < today
        out.append(InspectionRow(inspection, product, producer, users.get(inspection.inspector_id), commune, overdue))
    return out


def _base_query():
    commune = func.coalesce(Product.unit_id, Producer.unit_id)
    return (
        select(Inspection, Product, Producer, AdminUnit.name)
        .join(Product, Product.id == Inspection.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .outerjoin(AdminUnit, AdminUnit.id == commune)
    )


def inspection_queue(user, today: date | None = None) -> list[InspectionRow]:
    """The inspector's queue: what is assigned to them and not done, soonest due first (overdue on top)."""
    today = today or clock.today()
    stmt = (
        _base_query()
        .where(Inspection.inspector_id == user.id, Inspection.status == "assigned")
        .order_by(Inspection.due_on, Inspection.id)
    )
    return _rows(stmt, today)


@dataclass
class InspectionFilters:
    status: str | None = None
    inspector_id: int | None = None
    commune_id: int | None = None
    overdue: bool = False
    month: date | None = None  # the calendar's month (its first day)

    def args(self) -> dict:
        """The filters as URL arguments (what the pager and the export links carry)."""
        args = {}
        if self.status:
            args["status"] = self.status
        if self.inspector_id:
            args["inspector"] = self.inspector_id
        if self.commune_id:
            args["commune"] = self.commune_id
        if self.overdue:
            args["overdue"] = "1"
        return args


def inspection_filters(args) -> InspectionFilters:
    """Filters from a query string; a value that means nothing is ignored (the list stays a list)."""
    status = args.get("status") if args.get("status") in STATUSES else None
    month = None
    match = re.fullmatch(r"(\d{4})-(\d{2})", args.get("month", ""))
    if match and 2000 <= int(match[1]) <= 2100 and 1 <= int(match[2]) <= 12:
        month = date(int(match[1]), int(match[2]), 1)
    return InspectionFilters(
        status=status,
        inspector_id=clean_id(args.get("inspector")),
        commune_id=clean_id(args.get("commune")),
        overdue=args.get("overdue") in ("1", "on", "true"),
        month=month,
    )


def inspections_query(filters: InspectionFilters, today: date | None = None):
    today = today or clock.today()
    stmt = _base_query()
    if filters.status:
        stmt = stmt.where(Inspection.status == filters.status)
    if filters.inspector_id:
        stmt = stmt.where(Inspection.inspector_id == filters.inspector_id)
    if filters.commune_id:
        stmt = stmt.where(func.coalesce(Product.unit_id, Producer.unit_id) == filters.commune_id)
    if filters.overdue:
        stmt = stmt.where(inspection_overdue(today))
    return stmt.order_by(Inspection.due_on, Inspection.id)


def inspections_all(filters: InspectionFilters, today: date | None = None) -> list[InspectionRow]:
    return _rows(inspections_query(filters, today), today or clock.today())


def inspections_calendar(month: date, filters: InspectionFilters, today: date | None = None):
    """The month's weeks (Monday first), each day with the inspections due on it."""
    today = today or clock.today()
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    stmt = inspections_query(filters, today).where(Inspection.due_on.between(first, last))
    by_day = defaultdict(list)
    for row in _rows(stmt, today):
        by_day[row.inspection.due_on].append(row)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return [[(day, day.month == first.month, by_day.get(day, [])) for day in week] for week in weeks]


def inspection_communes() -> list[tuple[int, str]]:
    """Communes that have inspections (the list's filter)."""
    commune = func.coalesce(Product.unit_id, Producer.unit_id)
    stmt = (
        select(AdminUnit.id, AdminUnit.name)
        .where(
            AdminUnit.id.in_(
                select(commune)
                .select_from(Inspection)
                .join(Product, Product.id == Inspection.product_id)
                .join(Producer, Producer.id == Product.producer_id)
            )
        )
        .order_by(AdminUnit.name)
    )
    return [(r.id, r.name) for r in db.session.execute(stmt)]


def inspection_inspectors() -> list[User]:
    return db.session.scalars(
        select(User)
        .where(or_(*(any_(User.roles) == role for role in ("inspector", "province_officer", "province_admin"))))
        .order_by(User.full_name)
    ).all()


# ----------------------------------------------------------------------------- overdue and expiring


@dataclass(frozen=True)
class ActionRow:
    action: CorrectiveAction
    inspection: Inspection
    product: Product
    producer: Producer
    overdue: bool


def _action_rows(stmt, today: date) -> list[ActionRow]:
    return [ActionRow(a, i, p, pr, a.status == "open" and a.due_on < today) for a, i, p, pr in db.session.execute(stmt)]


def _actions_query():
    return (
        select(CorrectiveAction, Inspection, Product, Producer)
        .join(Inspection, Inspection.id == CorrectiveAction.inspection_id)
        .join(Product, Product.id == Inspection.product_id)
        .join(Producer, Producer.id == Product.producer_id)
    )


def inspections_overdue(today: date | None = None) -> list[InspectionRow]:
    today = today or clock.today()
    return _rows(inspections_query(InspectionFilters(overdue=True), today), today)


def corrective_actions_overdue(today: date | None = None) -> list[ActionRow]:
    today = today or clock.today()
    stmt = (
        _actions_query().where(corrective_action_overdue(today)).order_by(CorrectiveAction.due_on, CorrectiveAction.id)
    )
    return _action_rows(stmt, today)


@dataclass(frozen=True)
class OverdueAlert:
    """What a notice about an overdue item needs (for the notify feature to send, once per item)."""

    kind: str  # inspection | corrective_action
    id: int
    due_on: date
    product_id: int
    producer_id: int
    inspector_id: int | None


def overdue_alerts(today: date | None = None) -> list[OverdueAlert]:
    """Every overdue inspection and corrective action of the current tenant, for notices (the lead wires
    this to the notify feature: a notice key such as f"{kind}:{id}:overdue" makes each one sent once)."""
    today = today or clock.today()
    alerts = [
        OverdueAlert(
            "inspection", r.inspection.id, r.inspection.due_on, r.product.id, r.producer.id, r.inspection.inspector_id
        )
        for r in inspections_overdue(today)
    ]
    alerts += [
        OverdueAlert(
            "corrective_action", r.action.id, r.action.due_on, r.product.id, r.producer.id, r.inspection.inspector_id
        )
        for r in corrective_actions_overdue(today)
    ]
    return alerts


def certificates_expiring(days: int, today: date | None = None):
    """Certificates valid today whose last valid day is within the next `days` days, soonest first:
    (Certificate, Product, Producer, days left)."""
    today = today or clock.today()
    days = days if days in EXPIRY_WINDOWS else EXPIRY_WINDOWS[0]
    stmt = (
        select(Certificate, Product, Producer)
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(certificate_valid_on(today), Certificate.valid_to <= today + timedelta(days=days))
        .order_by(Certificate.valid_to, Certificate.id)
    )
    return [(c, p, pr, (c.valid_to - today).days) for c, p, pr in db.session.execute(stmt)]


# ----------------------------------------------------------------------------- the producer's view


def producer_inspections(producer_id: int, today: date | None = None):
    """A producer's upcoming inspections (not done) and open corrective actions, soonest first."""
    today = today or clock.today()
    upcoming = _rows(
        _base_query()
        .where(Producer.id == producer_id, Inspection.status.in_(OPEN_STATUSES))
        .order_by(Inspection.due_on),
        today,
    )
    actions = _action_rows(
        _actions_query()
        .where(Producer.id == producer_id, CorrectiveAction.status == "open")
        .order_by(CorrectiveAction.due_on),
        today,
    )
    return upcoming, actions


# ----------------------------------------------------------------------------- one inspection


@dataclass
class InspectionRecord:
    inspection: Inspection
    product: Product
    producer: Producer
    certificate: Certificate
    inspector: User | None
    checklist: list  # (item, answer or None)
    attachments: list  # (attachment, document)
    samples: list  # (sample, [lab results])
    actions: list[CorrectiveAction]
    proposals: list[RevocationProposal]
    overdue: bool
    evidence: dict  # document id -> Document, for the corrective actions' evidence


def inspection_record(inspection: Inspection, today: date | None = None) -> InspectionRecord:
    today = today or clock.today()
    product = db.session.scalar(select(Product).where(Product.id == inspection.product_id))
    producer = db.session.scalar(select(Producer).where(Producer.id == product.producer_id))
    certificate = db.session.scalar(select(Certificate).where(Certificate.id == inspection.certificate_id))
    inspector = (
        db.session.scalar(select(User).where(User.id == inspection.inspector_id)) if inspection.inspector_id else None
    )
    answers = {
        a.item_code: a
        for a in db.session.scalars(select(InspectionAnswer).where(InspectionAnswer.inspection_id == inspection.id))
    }
    items = inspection_rules().checklist(inspection.kind)
    checklist = [(item, answers.pop(item.code, None)) for item in items]
    # Answers to items the policy no longer lists stay on the record (their text was copied).
    checklist += [(None, answer) for answer in answers.values()]
    attachments = db.session.execute(
        select(InspectionAttachment, Document)
        .join(Document, Document.id == InspectionAttachment.document_id)
        .where(InspectionAttachment.inspection_id == inspection.id)
        .order_by(InspectionAttachment.id)
    ).all()
    samples = db.session.scalars(
        select(InspectionSample).where(InspectionSample.inspection_id == inspection.id).order_by(InspectionSample.id)
    ).all()
    results = defaultdict(list)
    if samples:
        for result in db.session.scalars(
            select(LabResult).where(LabResult.sample_id.in_([s.id for s in samples])).order_by(LabResult.id)
        ):
            results[result.sample_id].append(result)
    actions = db.session.scalars(
        select(CorrectiveAction).where(CorrectiveAction.inspection_id == inspection.id).order_by(CorrectiveAction.id)
    ).all()
    proposals = db.session.scalars(
        select(RevocationProposal)
        .where(RevocationProposal.inspection_id == inspection.id)
        .order_by(RevocationProposal.id)
    ).all()
    evidence_ids = [a.evidence_document_id for a in actions if a.evidence_document_id]
    evidence = (
        {d.id: d for d in db.session.scalars(select(Document).where(Document.id.in_(evidence_ids)))}
        if evidence_ids
        else {}
    )
    return InspectionRecord(
        inspection,
        product,
        producer,
        certificate,
        inspector,
        checklist,
        [tuple(r) for r in attachments],
        [(s, results[s.id]) for s in samples],
        list(actions),
        list(proposals),
        inspection.status in OPEN_STATUSES and inspection.due_on < today,
        evidence,
    )


def inspection_assign(user, inspection: Inspection, inspector_id, expected_version: str | None = None) -> Inspection:
    """An officer assigns (or re-assigns) an inspection not yet done to an inspector; where the policy asks
    for an inspector from outside the producer's commune, one from it is refused."""
    _require_manage(user)
    inspector_id = clean_id(inspector_id)
    inspector = db.session.scalar(select(User).where(User.id == inspector_id)) if inspector_id else None
    if inspector is None or not inspector.active:
        raise InspectionError(_("Hãy chọn cán bộ kiểm tra."), "inspector_id")
    _lock(inspection, expected_version)
    if inspection.status not in OPEN_STATUSES:
        raise InspectionError(_("Chỉ phân công được lượt kiểm tra chưa thực hiện."))
    if not inspector.has_role("inspector", "province_officer"):
        raise InspectionError(_("Người này không phải cán bộ kiểm tra."), "inspector_id")
    if not inspector_allowed(inspection, inspector):
        raise InspectionError(
            _("Chính sách của tỉnh yêu cầu cán bộ kiểm tra ngoài xã, phường của chủ thể; hãy chọn người khác."),
            "inspector_id",
        )
    inspection.inspector_id = inspector.id
    inspection.status = "assigned"
    inspection.assigned_at = clock.now()
    _touch(inspection)
    db.session.flush()
    return inspection


def eligible_inspectors(inspection: Inspection) -> list[User]:
    return [u for u in inspectors_eligible(inspection) if u.active]


def inspection_record_visit(
    user,
    inspection: Inspection,
    *,
    visited_on,
    answers: dict,
    notes,
    outcome,
    expected_version: str | None = None,
    today: date | None = None,
) -> Inspection:
    """Save the visit: its date, the checklist answers (code -> (answer, note)), notes; with an outcome the
    inspection is done (and no longer changes). Without one, what was typed is kept for later."""
    today = today or clock.today()
    _require_record(user, inspection)
    visited_on = clean_day(visited_on, "visited_on", not_after=today)
    notes = clean_text(notes, "notes", max_length=10_000)
    outcome = "" if outcome in (None, "") else clean_choice(outcome, OUTCOMES, "outcome", _("Kết quả không hợp lệ."))
    items = {item.code: item for item in inspection_rules().checklist(inspection.kind)}
    cleaned = {}
    for code, (answer, note) in (answers or {}).items():
        if code not in items:
            raise InspectionError(_("Mục kiểm tra không có trong danh mục."), "answers")
        note = clean_text(note, f"note_{code}", max_length=2000)
        if answer in (None, ""):
            continue
        cleaned[code] = (clean_choice(answer, ANSWERS, f"answer_{code}", _("Câu trả lời không hợp lệ.")), note)
    _lock(inspection, expected_version)
    if inspection.status == "done":
        raise InspectionError(_("Lượt kiểm tra đã được ghi kết quả."))
    if inspection.status == "cancelled":
        raise InspectionError(_("Lượt kiểm tra đã bị hủy."))
    if outcome and len(cleaned) < len(items):
        raise InspectionError(_("Hãy trả lời mọi mục kiểm tra trước khi ghi kết quả."), "outcome")
    existing = {
        a.item_code: a
        for a in db.session.scalars(select(InspectionAnswer).where(InspectionAnswer.inspection_id == inspection.id))
    }
    for code, (answer, note) in cleaned.items():
        row = existing.get(code) or InspectionAnswer(inspection_id=inspection.id, item_code=code)
        row.item_text, row.answer, row.note = items[code].text, answer, note
        row.answered_by, row.answered_at = user.id, clock.now()
        db.session.add(row)
    inspection.visited_on = visited_on
    inspection.notes = notes
    if outcome:
        if inspection.inspector_id is None:
            inspection.inspector_id = user.id
        inspection.status, inspection.outcome = "done", outcome
        inspection.completed_at, inspection.completed_by = clock.now(), user.id
        inspection_schedule_later()  # the next period's inspection appears at once, not at the next sweep
    _touch(inspection)
    db.session.flush()
    return inspection


# ----------------------------------------------------------------------------- photos and documents


def attachment_presign(user, inspection: Inspection, data: dict) -> tuple[Document, dict]:
    """A photo or document of the visit, through the documents upload service (presigned POST): the
    document belongs to the inspected product's producer, the attachment links it to the inspection."""
    _require_record(user, inspection)
    requirement = data.get("requirement")
    if requirement not in ROLE_BY_REQUIREMENT:
        raise InspectionError(_("Loại tệp đính kèm không hợp lệ."))
    caption = clean_text(data.get("title"), "title", max_length=300)
    producer_id = _producer_of(inspection)
    try:
        document, post = document_presign(
            producer_id=producer_id,
            product_id=inspection.product_id,
            requirement=requirement,
            filename=data.get("filename"),
            content_type=data.get("content_type"),
            size=data.get("size"),
            uploaded_by=user.id,
            title=caption,
        )
    except DocumentError as error:
        raise InspectionError(str(error)) from None
    db.session.add(
        InspectionAttachment(
            inspection_id=inspection.id, document_id=document.id, role=ROLE_BY_REQUIREMENT[requirement], caption=caption
        )
    )
    db.session.flush()
    return document, post


def attachment_document(user, document_id) -> Document:
    """The document of an inspection attachment the user may record (404 for anything else)."""
    document_id = clean_id(document_id)
    if document_id is None:
        abort(404)
    attachment = db.session.scalar(select(InspectionAttachment).where(InspectionAttachment.document_id == document_id))
    if attachment is None:
        abort(404)
    inspection = inspection_get(user, attachment.inspection_id, "inspection.record")
    if not may_record(user, inspection):
        abort(404)
    return document_get(user, document_id, "documents.view")


def attachment_confirm(document: Document) -> Document:
    try:
        return document_confirm(document.id)
    except DocumentError as error:
        raise InspectionError(str(error)) from None


# ----------------------------------------------------------------------------- samples and lab results


def sample_get(inspection: Inspection, sample_id: int) -> InspectionSample:
    sample = get_or_404(InspectionSample, sample_id)
    if sample.inspection_id != inspection.id:
        abort(404)
    return sample


def sample_add(user, inspection: Inspection, *, code, description, taken_on, lab_name, sent_on, today=None):
    today = today or clock.today()
    _require_record(user, inspection)
    code = clean_text(code, "code", required=True, max_length=64)
    description = clean_text(description, "description", max_length=2000)
    taken_on = clean_day(taken_on, "taken_on", not_after=today)
    lab_name = clean_text(lab_name, "lab_name", max_length=200)
    sent_on = clean_day(sent_on, "sent_on", required=False, not_after=today)
    if sent_on and sent_on < taken_on:
        raise InspectionError(_("Ngày gửi mẫu không được trước ngày lấy mẫu."), "sent_on")
    if db.session.scalar(
        select(InspectionSample.id).where(
            InspectionSample.inspection_id == inspection.id, InspectionSample.code == code
        )
    ):
        raise InspectionError(_("Mã mẫu này đã có trong lượt kiểm tra."), "code")
    sample = InspectionSample(
        inspection_id=inspection.id,
        code=code,
        description=description,
        taken_on=taken_on,
        lab_name=lab_name,
        sent_on=sent_on,
        status="sent" if sent_on else "taken",
    )
    db.session.add(sample)
    db.session.flush()
    return sample


def lab_result_add(
    user,
    inspection: Inspection,
    sample: InspectionSample,
    *,
    parameter,
    value,
    unit,
    limit_text,
    passed,
    conclusion=None,
    result_on=None,
    today=None,
) -> LabResult:
    """One tested parameter; with the lab's overall conclusion the sample is resulted."""
    today = today or clock.today()
    _require_record(user, inspection)
    parameter = clean_text(parameter, "parameter", required=True, max_length=200)
    value = clean_text(value, "value", required=True, max_length=64)
    unit = clean_text(unit, "unit", max_length=32)
    limit_text = clean_text(limit_text, "limit_text", max_length=64)
    passed = {"yes": True, "no": False, "": None, None: None}.get(passed, "bad")
    if passed == "bad":
        raise InspectionError(_("Kết quả chỉ tiêu không hợp lệ."), "passed")
    conclusion = conclusion or None
    if conclusion is not None:
        conclusion = clean_choice(conclusion, ("pass", "fail"), "conclusion", _("Kết luận không hợp lệ."))
    result_on = clean_day(result_on, "result_on", required=False, not_after=today)
    if db.session.scalar(
        select(LabResult.id).where(LabResult.sample_id == sample.id, LabResult.parameter == parameter)
    ):
        raise InspectionError(_("Chỉ tiêu này đã được ghi cho mẫu."), "parameter")
    result = LabResult(
        sample_id=sample.id, parameter=parameter, value=value, unit=unit, limit_text=limit_text, passed=passed
    )
    db.session.add(result)
    if conclusion:
        sample.conclusion, sample.status, sample.result_on = conclusion, "resulted", result_on or today
    db.session.flush()
    return result


# ----------------------------------------------------------------------------- corrective actions


def corrective_action_get(user, action_id: int) -> CorrectiveAction:
    action = get_or_404(CorrectiveAction, action_id)
    inspection_get(user, action.inspection_id)  # 404 out of the user's scope
    return action


def corrective_action_add(user, inspection: Inspection, *, description, due_on, today=None) -> CorrectiveAction:
    today = today or clock.today()
    _require_record(user, inspection)
    description = clean_text(description, "description", required=True, max_length=2000)
    due_on = clean_day(due_on, "due_on")
    if due_on < (inspection.visited_on or today):
        raise InspectionError(_("Hạn khắc phục không được trước ngày kiểm tra."), "due_on")
    action = CorrectiveAction(
        inspection_id=inspection.id, description=description, due_on=due_on, status="open", created_by=user.id
    )
    db.session.add(action)
    db.session.flush()
    return action


def corrective_action_close(
    user, action: CorrectiveAction, *, evidence_note, evidence_document_id=None
) -> CorrectiveAction:
    """An officer closes an open corrective action on its evidence: a note of what was seen, and/or a
    verified document of the product (one the producer sent in answer, or one chosen on the page)."""
    _require_manage(user)
    evidence_note = clean_text(evidence_note, "evidence_note", max_length=2000)
    chosen = evidence_document_id not in (None, "")
    document_id = clean_id(evidence_document_id) if chosen else None
    if chosen and document_id is None:
        raise InspectionError(_("Tài liệu minh chứng không hợp lệ."), "evidence_document_id")
    db.session.refresh(action, with_for_update=True)
    if action.status != "open":
        raise InspectionError(_("Hành động khắc phục này đã được đóng."))
    document_id = document_id or action.evidence_document_id  # the producer's answer, when there is one
    if document_id is not None:
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == action.inspection_id))
        document = db.session.scalar(select(Document).where(Document.id == document_id))
        usable = document is not None and document.product_id == inspection.product_id
        if chosen and not (usable and document.status == "accepted"):
            raise InspectionError(_("Tài liệu minh chứng không hợp lệ."), "evidence_document_id")
        if not (usable and document.status == "accepted"):
            document_id = None  # the producer's file is not verified (yet): it is no evidence
    if not evidence_note and document_id is None:
        raise InspectionError(_("Hãy ghi minh chứng khắc phục."), "evidence_note")
    action.status, action.closed_at, action.closed_by = "closed", clock.now(), user.id
    action.evidence_note = evidence_note
    action.evidence_document_id = document_id
    db.session.flush()
    return action


def corrective_action_respond(user, action: CorrectiveAction, data: dict) -> tuple[Document, dict]:
    """The producer answers its open corrective action with evidence (a photo, a paper), uploaded through
    the documents service as any evidence of its product; an officer then closes the action on it."""
    if not can(user, "corrective_action.respond"):
        raise InspectionError(_("Chỉ chủ thể được gửi minh chứng khắc phục."))
    db.session.refresh(action, with_for_update=True)
    if action.status != "open":
        raise InspectionError(_("Hành động khắc phục này đã được đóng."))
    inspection = db.session.scalar(select(Inspection).where(Inspection.id == action.inspection_id))
    try:
        document, post = document_presign(
            producer_id=_producer_of(inspection),
            product_id=inspection.product_id,
            requirement=EVIDENCE_REQUIREMENT,
            filename=data.get("filename"),
            content_type=data.get("content_type"),
            size=data.get("size"),
            uploaded_by=user.id,
            title=clean_text(data.get("title"), "title", max_length=300),
        )
    except DocumentError as error:
        raise InspectionError(str(error)) from None
    action.evidence_document_id = document.id  # the latest answer is the one the officer sees
    db.session.flush()
    return document, post


# ----------------------------------------------------------------------------- revocation proposals


def revocation_propose(user, inspection: Inspection, *, grounds, reason) -> RevocationProposal:
    """After a major finding, the inspector proposes revoking the certificate; an officer decides."""
    _require_record(user, inspection)
    grounds = clean_choice(grounds, REVOCATION_GROUNDS, "grounds", _("Căn cứ thu hồi không hợp lệ."))
    reason = clean_text(reason, "reason", required=True, max_length=2000)
    if inspection.status != "done" or inspection.outcome != "major":
        raise InspectionError(_("Chỉ đề nghị thu hồi sau lượt kiểm tra có lỗi nghiêm trọng."))
    proposal = RevocationProposal(
        inspection_id=inspection.id,
        certificate_id=inspection.certificate_id,
        grounds=grounds,
        reason=reason,
        status="proposed",
        proposed_by=user.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(proposal)
            db.session.flush()
    except IntegrityError:
        raise InspectionError(_("Giấy chứng nhận này đã có một đề nghị thu hồi đang chờ quyết định.")) from None
    return proposal


def revocation_proposal_get(user, proposal_id: int) -> RevocationProposal:
    proposal = get_or_404(RevocationProposal, proposal_id)
    inspection_get(user, proposal.inspection_id)
    return proposal


def revocation_decide(
    user, proposal: RevocationProposal, *, accept: bool, note, decision_number=None, decision_date=None, today=None
) -> RevocationProposal:
    """An officer accepts (the certificate is revoked by certificate_revoke, with the decision's number and
    date) or rejects the proposal."""
    _require_manage(user)
    note = clean_text(note, "decision_note", required=not accept, max_length=2000)
    db.session.refresh(proposal, with_for_update=True)
    if proposal.status != "proposed":
        raise InspectionError(_("Đề nghị này đã được quyết định."))
    if accept:
        certificate = db.session.scalar(select(Certificate).where(Certificate.id == proposal.certificate_id))
        try:
            certificate_revoke(
                certificate,
                proposal.reason,
                decision_number,
                clean_day(decision_date, "decision_date", not_after=today or clock.today()),
                today=today,
            )
        except CertificateError as error:
            field = {"revoke_decision_number": "decision_number", "revoke_decision_date": "decision_date"}.get(
                error.field, error.field
            )
            raise InspectionError(str(error), field) from None
    proposal.status = "accepted" if accept else "rejected"
    proposal.decided_by, proposal.decided_at, proposal.decision_note = user.id, clock.now(), note
    db.session.flush()
    return proposal


def proposals_open() -> list:
    """Proposals waiting for an officer: (proposal, inspection, product, producer)."""
    stmt = (
        select(RevocationProposal, Inspection, Product, Producer)
        .join(Inspection, Inspection.id == RevocationProposal.inspection_id)
        .join(Product, Product.id == Inspection.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(RevocationProposal.status == "proposed")
        .order_by(RevocationProposal.proposed_at)
    )
    return db.session.execute(stmt).all()
