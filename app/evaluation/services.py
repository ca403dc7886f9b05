"""Council evaluation: councils and members, rounds, conflicts, scoring, results, reviews.

Scopes live here: an officer sees every round of the province; a council member only the rounds of
the councils they sit on (`round_get(user, id)` answers 404 otherwise, like a missing id); a producer
only the results of its own products.
"""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import any_, func, select

from app.auth.models import User
from app.auth.policy import OFFICERS
from app.auth.roles import COUNCIL_MEMBER, PRODUCER
from app.certification.models import Certificate
from app.certification.services import CertificateError, certificate_correct, certificate_record, certificate_revoke
from app.core import clock
from app.core.numbers import parse_number
from app.core.text import nfc
from app.cycle import workflow
from app.cycle.models import Application, ApplicationEvent
from app.cycle.services import WorkflowError, _locked, application_conclude, product_group
from app.evaluation import rules
from app.evaluation.models import (
    MEMBER_ROLES,
    SCORING_ROLES,
    ConflictDeclaration,
    CouncilMember,
    CouncilRound,
    CriteriaTemplate,
    ReviewRequest,
    RoundProduct,
    ScoreSheet,
)
from app.evaluation.pdf import Line
from app.extensions import db
from app.notices.services import notice_create, valid_emails
from app.registry.models import Producer, Product
from tenants.models import COUNCIL_LEVELS, UI_COUNCIL_PREFIX, Council

READY = "ready_for_council"
SCREENING_ACTIONS = ("screen", "return_dossier", "forward_to_council")
MAX_NAME = 200


class EvaluationError(ValueError):
    """A rule of the evaluation was broken; the message is translated and safe to show."""


def clean_text(value) -> str:
    """NFC; a NUL byte (which PostgreSQL refuses in text) is a clear error, not a 500."""
    text = nfc(str(value or ""))
    if "\x00" in text:
        raise EvaluationError(_("Văn bản chứa ký tự không hợp lệ."))
    return text


def _is_officer(user) -> bool:
    return user.has_role(*OFFICERS)


# ---- councils ---------------------------------------------------------------------------------


def council_list() -> list[Council]:
    return db.session.scalars(select(Council).order_by(Council.name)).all()


def council_get(council_id: int) -> Council:
    council = db.session.scalar(select(Council).where(Council.id == council_id))
    if council is None:
        abort(404)
    return council


@dataclass(frozen=True)
class CouncilFields:
    """A council's settings as typed in the form (raw strings; checked by council_save)."""

    name: str = ""
    level: str = ""
    chair_title: str = ""
    quorum_ratio: str = ""
    max_score_spread: str = ""
    dossier_lead_working_days: str = ""
    review_days: str = ""
    valid_from: date | None = None
    valid_to: date | None = None


def _number(raw, label: str, low: Decimal, high: Decimal, places: int) -> Decimal:
    text = clean_text(raw).strip().replace(",", ".")
    try:
        value = Decimal(text) if len(text) <= 20 else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not low <= value <= high or -value.as_tuple().exponent > places:
        raise EvaluationError(
            _(
                "%(field)s phải là số từ %(low)s đến %(high)s.",
                field=label,
                low=format(low, "f"),
                high=format(high, "f"),
            )
        )
    return value


def council_save(council: Council | None, fields: CouncilFields) -> Council:
    """Create (council None) or edit a council from the officers' form.

    A council created here gets a code starting with UI_COUNCIL_PREFIX, which a province file may not
    use: the file sync manages only its own codes, so it never deletes or overwrites a council made here.
    """
    name = clean_text(fields.name).strip()
    if not name or len(name) > 300 or name.startswith(("=", "+", "-", "@")):
        raise EvaluationError(_("Tên Hội đồng là bắt buộc, tối đa 300 ký tự, không bắt đầu bằng =, +, - hoặc @."))
    if fields.level not in COUNCIL_LEVELS:
        raise EvaluationError(_("Hãy chọn cấp của Hội đồng."))
    chair_title = clean_text(fields.chair_title).strip()
    if len(chair_title) > 200 or chair_title.startswith(("=", "+", "-", "@")):
        raise EvaluationError(_("Chức danh Chủ tịch tối đa 200 ký tự, không bắt đầu bằng =, +, - hoặc @."))
    quorum = _number(fields.quorum_ratio, _("Tỷ lệ túc số"), Decimal("0.001"), Decimal(1), 3)
    spread = _number(fields.max_score_spread, _("Chênh lệch tối đa"), Decimal(0), Decimal(100), 2)
    lead = _number(fields.dossier_lead_working_days, _("Số ngày làm việc gửi hồ sơ trước"), Decimal(0), Decimal(60), 0)
    review = _number(fields.review_days, _("Thời hạn phúc khảo (ngày)"), Decimal(1), Decimal(365), 0)
    if fields.valid_from and fields.valid_to and fields.valid_to < fields.valid_from:
        raise EvaluationError(_("Nhiệm kỳ: ngày kết thúc phải sau ngày bắt đầu."))
    if council is None:
        council = Council(code=f"{UI_COUNCIL_PREFIX}{secrets.token_hex(4)}")
        db.session.add(council)
    council.name, council.level, council.chair_title = name, fields.level, chair_title or None
    council.quorum_ratio, council.max_score_spread = quorum, spread
    council.dossier_lead_working_days, council.review_days = int(lead), int(review)
    council.valid_from, council.valid_to = fields.valid_from, fields.valid_to
    db.session.flush()
    return council


def council_members(council: Council) -> list[tuple[CouncilMember, User]]:
    order = func.array_position(list(MEMBER_ROLES), CouncilMember.role)
    return db.session.execute(
        select(CouncilMember, User)
        .join(User, User.id == CouncilMember.user_id)
        .where(CouncilMember.council_id == council.id)
        .order_by(order, User.full_name)
    ).all()


def council_candidates() -> list[User]:
    """Users of the tenant with the council member role (the only ones who may sit on a council)."""
    return db.session.scalars(
        select(User).where(any_(User.roles) == COUNCIL_MEMBER, User.active.is_(True)).order_by(User.full_name)
    ).all()


def council_member_add(council: Council, user_id: int, role: str, term_from=None, term_to=None) -> CouncilMember:
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None or not user.has_role(COUNCIL_MEMBER):
        raise EvaluationError(_("Chỉ người dùng có vai trò Thành viên Hội đồng mới được thêm vào Hội đồng."))
    if role not in MEMBER_ROLES:
        raise EvaluationError(_("Vai trò trong Hội đồng không hợp lệ."))
    if term_from and term_to and term_to < term_from:
        raise EvaluationError(_("Nhiệm kỳ kết thúc trước khi bắt đầu."))
    _locked(Council, council.id)
    if role in ("chair", "secretary"):
        taken = db.session.scalar(
            select(CouncilMember).where(CouncilMember.council_id == council.id, CouncilMember.role == role)
        )
        if taken is not None and taken.user_id != user_id:
            raise EvaluationError(_("Hội đồng đã có người giữ vai trò này."))
    member = db.session.scalar(
        select(CouncilMember).where(CouncilMember.council_id == council.id, CouncilMember.user_id == user_id)
    )
    if member is None:
        member = CouncilMember(council_id=council.id, user_id=user_id)
        db.session.add(member)
    member.role, member.term_from, member.term_to = role, term_from, term_to
    db.session.flush()
    return member


def council_member_remove(council: Council, member_id: int) -> None:
    member = db.session.scalar(
        select(CouncilMember).where(CouncilMember.id == member_id, CouncilMember.council_id == council.id)
    )
    if member is None:
        abort(404)
    used = db.session.scalar(select(func.count()).select_from(ScoreSheet).where(ScoreSheet.member_id == member.id))
    if used:
        raise EvaluationError(_("Thành viên đã chấm điểm nên không thể xóa; hãy đặt ngày kết thúc nhiệm kỳ."))
    db.session.delete(member)
    db.session.flush()


def _scoring_members(council_id: int, day: date) -> list[CouncilMember]:
    """The members who score on `day`: chair, vice-chair and members whose term covers the day."""
    return db.session.scalars(
        select(CouncilMember).where(
            CouncilMember.council_id == council_id,
            CouncilMember.role.in_(SCORING_ROLES),
            (CouncilMember.term_from.is_(None)) | (CouncilMember.term_from <= day),
            (CouncilMember.term_to.is_(None)) | (CouncilMember.term_to >= day),
        )
    ).all()


def _membership(user, council_id: int) -> CouncilMember | None:
    return db.session.scalar(
        select(CouncilMember).where(CouncilMember.council_id == council_id, CouncilMember.user_id == user.id)
    )


# ---- rounds -----------------------------------------------------------------------------------


def round_list(user) -> list[CouncilRound]:
    return db.session.scalars(rounds_query(user)).all()


def rounds_query(user):
    """The select of the rounds the user may see, newest meeting first (the list pages it)."""
    query = select(CouncilRound).order_by(CouncilRound.meeting_on.desc(), CouncilRound.id.desc())
    if not _is_officer(user):
        mine = select(CouncilMember.council_id).where(CouncilMember.user_id == user.id)
        query = query.where(CouncilRound.council_id.in_(mine))
    return query


def round_get(user, round_id: int) -> CouncilRound:
    """The round, if the user may see it: officers all, a council member only the rounds they sit on."""
    council_round = db.session.scalar(select(CouncilRound).where(CouncilRound.id == round_id))
    if council_round is None:
        abort(404)
    if not _is_officer(user) and _membership(user, council_round.council_id) is None:
        abort(404)
    return council_round


def round_create(user, council_id: int, name: str, meeting_on: date) -> CouncilRound:
    council = council_get(council_id)
    name = clean_text(name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise EvaluationError(_("Tên đợt đánh giá là bắt buộc (tối đa 200 ký tự)."))
    version = rules.rule_version_on(meeting_on)
    council_round = CouncilRound(
        council_id=council.id, name=name, meeting_on=meeting_on, act=version.act, status="open", created_by=user.id
    )
    db.session.add(council_round)
    db.session.flush()
    return council_round


def round_candidates() -> list[tuple[Application, Product]]:
    """Applications ready for the council and in no round yet."""
    assigned = select(RoundProduct.application_id)
    return db.session.execute(
        select(Application, Product)
        .join(Product, Product.id == Application.product_id)
        .where(Application.status == READY, Application.id.not_in(assigned))
        .order_by(Product.name)
    ).all()


def round_assign(council_round: CouncilRound, application_ids: list[int]) -> int:
    council_round = _locked(CouncilRound, council_round.id)
    if council_round.status != "open":
        raise EvaluationError(_("Đợt đánh giá đã kết thúc."))
    candidates = {a.id: a for a, _p in round_candidates()}
    added = 0
    for application_id in application_ids:
        application = candidates.get(application_id)
        if application is None:
            raise EvaluationError(_("Hồ sơ không ở trạng thái sẵn sàng đánh giá hoặc đã thuộc một đợt khác."))
        db.session.add(
            RoundProduct(round_id=council_round.id, application_id=application.id, product_id=application.product_id)
        )
        added += 1
    db.session.flush()
    return added


def round_products(council_round: CouncilRound) -> list[tuple[RoundProduct, Product]]:
    return db.session.execute(
        select(RoundProduct, Product)
        .join(Product, Product.id == RoundProduct.product_id)
        .where(RoundProduct.round_id == council_round.id)
        .order_by(Product.name, RoundProduct.id)
    ).all()


def round_product_get(council_round: CouncilRound, round_product_id: int) -> RoundProduct:
    item = db.session.scalar(
        select(RoundProduct).where(RoundProduct.id == round_product_id, RoundProduct.round_id == council_round.id)
    )
    if item is None:
        abort(404)
    return item


# ---- criteria ---------------------------------------------------------------------------------


def criteria_for(act: str, product: Product) -> tuple[rules.Criterion, ...]:
    """The criteria of a product, first found of: the province's imported table for its group, the
    province's table for all groups ('*'), the shipped template of its group, the shipped generic one."""
    group = product_group(product)
    rows = db.session.scalars(
        select(CriteriaTemplate).where(
            CriteriaTemplate.act == act, CriteriaTemplate.product_group.in_((group or "*", "*"))
        )
    ).all()
    chosen = sorted(rows, key=lambda t: t.product_group == "*")
    if chosen:
        return rules.criteria_from_json(chosen[0].criteria)
    return rules.rule_version(act).template_for(group)


def criteria_templates() -> list[CriteriaTemplate]:
    return db.session.scalars(
        select(CriteriaTemplate).order_by(CriteriaTemplate.act, CriteriaTemplate.product_group)
    ).all()


def criteria_import(user, act: str, product_group_code: str, content: bytes) -> CriteriaTemplate:
    """Replace the criteria of (act, product group; '*' for all groups) by a TOML file of the shipped shape
    or an .xlsx with the columns part, code, criterion, maximum, mandatory-from-star."""
    if act not in rules.versions():
        raise EvaluationError(_("Văn bản quy định không được hỗ trợ."))
    group = (product_group_code or "*").strip()
    if not group or len(group) > 32 or not (group == "*" or group.replace("_", "").isalnum()):
        raise EvaluationError(_("Mã nhóm sản phẩm không hợp lệ."))
    try:
        # An Excel workbook (a zip) or a TOML file of the shipped shape.
        data = rules.criteria_from_xlsx(content) if content[:4] == b"PK\x03\x04" else tomllib.loads(content.decode())
        name, criteria = rules.criteria_parse(data, rules.rule_version(act).parts)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise EvaluationError(_("Tệp không đọc được (cần TOML, UTF-8): %(error)s", error=str(error)[:200])) from error
    except rules.RulesError as error:
        raise EvaluationError(_("Bộ tiêu chí không hợp lệ: %(error)s", error=str(error)[:300])) from error
    template = db.session.scalar(
        select(CriteriaTemplate).where(CriteriaTemplate.act == act, CriteriaTemplate.product_group == group)
    )
    if template is None:
        template = CriteriaTemplate(act=act, product_group=group)
        db.session.add(template)
    template.name, template.criteria, template.created_by = name, rules.criteria_to_json(criteria), user.id
    db.session.flush()
    return template


# ---- conflicts --------------------------------------------------------------------------------


def conflict_flags(member: CouncilMember, item: RoundProduct) -> list[str]:
    """Likely conflicts: the member's own producer, the member's commune, or the member screened the dossier."""
    user = db.session.scalar(select(User).where(User.id == member.user_id))
    product = db.session.scalar(select(Product).where(Product.id == item.product_id))
    producer = db.session.scalar(select(Producer).where(Producer.id == product.producer_id))
    flags = []
    if user.producer_id is not None and user.producer_id == producer.id:
        flags.append("same_producer")
    if user.unit_id is not None and user.unit_id in (product.unit_id, producer.unit_id):
        flags.append("same_commune")
    screened = db.session.scalar(
        select(func.count())
        .select_from(ApplicationEvent)
        .where(
            ApplicationEvent.application_id == item.application_id,
            ApplicationEvent.action.in_(SCREENING_ACTIONS),
            ApplicationEvent.actor_label == user.email,
        )
    )
    if screened:
        flags.append("screened")
    return flags


def _declaration(member: CouncilMember, item: RoundProduct) -> ConflictDeclaration | None:
    return db.session.scalar(
        select(ConflictDeclaration).where(
            ConflictDeclaration.round_product_id == item.id, ConflictDeclaration.member_id == member.id
        )
    )


def _is_conflicted(member: CouncilMember, item: RoundProduct) -> bool:
    declaration = _declaration(member, item)
    return bool(conflict_flags(member, item)) or (declaration is not None and declaration.conflicted)


def conflict_declare(user, council_round: CouncilRound, item: RoundProduct, conflicted: bool, reason: str):
    member = _scorer(user, council_round, item)
    reason = clean_text(reason or "").strip()
    if len(reason) > 2000:
        raise EvaluationError(_("Lý do quá dài (tối đa 2000 ký tự)."))
    flags = conflict_flags(member, item)
    declaration = _declaration(member, item)
    if declaration is None:
        declaration = ConflictDeclaration(round_product_id=item.id, member_id=member.id)
        db.session.add(declaration)
    # An automatic flag is a fact (own producer, own commune, screened it): it cannot be declared away.
    declaration.conflicted, declaration.reason, declaration.flags = bool(conflicted or flags), reason, flags
    declaration.declared_at = clock.now()
    db.session.flush()
    return declaration


# ---- scoring ----------------------------------------------------------------------------------


def _scorer(user, council_round: CouncilRound, item: RoundProduct | None = None) -> CouncilMember:
    member = _membership(user, council_round.council_id)
    if member is None or member.role not in SCORING_ROLES:
        raise EvaluationError(_("Bạn không chấm điểm trong Hội đồng này."))
    if council_round.status != "open" and not (item is not None and reopened(item)):
        raise EvaluationError(_("Đợt đánh giá đã kết thúc."))
    return member


def reopened(item: RoundProduct) -> bool:
    """A review answered "rescore" whose corrected result is not recorded yet: members score again."""
    return any(r.outcome == "rescore" for r in review_requests(item))


def member_of(user, council_round: CouncilRound) -> CouncilMember | None:
    return _membership(user, council_round.council_id)


def sheet_of(member: CouncilMember, item: RoundProduct) -> ScoreSheet | None:
    return db.session.scalar(
        select(ScoreSheet).where(
            ScoreSheet.round_product_id == item.id,
            ScoreSheet.member_id == member.id,
            ScoreSheet.attempt == item.attempt,
        )
    )


def _points(raw, maximum: Decimal) -> Decimal:
    try:  # typed as Vietnamese write it: 2,5
        value = parse_number(raw) if isinstance(raw, str) else Decimal(str(raw))
    except (InvalidOperation, ValueError) as error:
        raise EvaluationError(_("Điểm phải là một số.")) from error
    if not value.is_finite() or value < 0 or value > maximum:
        raise EvaluationError(_("Điểm phải từ 0 đến %(max)s.", max=maximum))
    if value != value.quantize(Decimal("0.01")):
        raise EvaluationError(_("Điểm có tối đa 2 chữ số thập phân."))
    return value


def score_save(user, council_round: CouncilRound, item: RoundProduct, points: dict[str, object]) -> ScoreSheet:
    """Save some or all criteria of the member's sheet (saved as they go); each within its maximum."""
    member = _scorer(user, council_round, item)
    # The phone sends each criterion as it changes, so a member's saves overlap: the lock makes each one
    # merge into what the previous one wrote (else one overwrites the other's points, or both insert).
    _locked(CouncilMember, member.id)
    if _declaration(member, item) is None:
        raise EvaluationError(_("Hãy khai báo xung đột lợi ích trước khi chấm điểm."))
    if _is_conflicted(member, item):
        raise EvaluationError(_("Bạn có xung đột lợi ích với sản phẩm này nên không chấm điểm."))
    if item.outcome is not None and not reopened(item):
        raise EvaluationError(_("Sản phẩm đã có kết quả."))
    product = db.session.scalar(select(Product).where(Product.id == item.product_id))
    criteria = {c.code: c for c in criteria_for(council_round.act, product)}
    unknown = [code for code in points if code not in criteria]
    if unknown:
        raise EvaluationError(_("Tiêu chí không tồn tại: %(codes)s", codes=", ".join(unknown)[:200]))
    cleaned = {code: _points(value, criteria[code].max) for code, value in points.items() if str(value).strip()}
    sheet = sheet_of(member, item)
    if sheet is None:
        sheet = ScoreSheet(round_product_id=item.id, member_id=member.id, attempt=item.attempt, points={})
        db.session.add(sheet)
    elif sheet.submitted_at is not None:
        raise EvaluationError(_("Phiếu chấm đã nộp; chờ Hội đồng chấm lại nếu cần."))
    merged = {**sheet.points, **{k: str(v) for k, v in cleaned.items()}}
    sheet.points = merged
    sheet.total = sum((Decimal(v) for v in merged.values()), Decimal(0))
    db.session.flush()
    return sheet


def score_submit(user, council_round: CouncilRound, item: RoundProduct) -> ScoreSheet:
    member = _scorer(user, council_round, item)
    _locked(CouncilMember, member.id)  # after any save still in flight (see score_save)
    sheet = sheet_of(member, item)
    product = db.session.scalar(select(Product).where(Product.id == item.product_id))
    criteria = criteria_for(council_round.act, product)
    if sheet is None or any(c.code not in sheet.points for c in criteria):
        raise EvaluationError(_("Hãy chấm đủ mọi tiêu chí trước khi nộp phiếu."))
    sheet.submitted_at = clock.now()
    db.session.flush()
    return sheet


@dataclass(frozen=True)
class ItemStatus:
    state: str  # scoring | spread | no_quorum | ready | decided
    counted: list  # [(member, sheet)] of non-conflicted members with a submitted sheet
    excluded: list  # members whose score is excluded (conflict)
    spread: Decimal
    members: int
    result: rules.Result | None


def item_status(council_round: CouncilRound, council: Council, item: RoundProduct) -> ItemStatus:
    """Where a product stands: its counted sheets, spread, quorum and (when they allow it) its result."""
    members = _scoring_members(council.id, council_round.meeting_on)
    counted, excluded, pending, chair_present = [], [], 0, False
    for member in members:
        sheet = sheet_of(member, item)
        if _is_conflicted(member, item):
            excluded.append(member)
            chair_present = chair_present or member.role == "chair"
        elif sheet is not None and sheet.submitted_at is not None:
            counted.append((member, sheet))
            chair_present = chair_present or member.role == "chair"
        else:
            pending += 1
    totals = [sheet.total for _m, sheet in counted]
    spread = rules.spread_of(totals)
    product = db.session.scalar(select(Product).where(Product.id == item.product_id))
    criteria = criteria_for(council_round.act, product)
    version = rules.rule_version(council_round.act)
    present = len(counted) + len(excluded)
    if item.outcome is not None and not reopened(item):
        state = "decided"
    elif pending and not rules.quorum_met(present, len(members), chair_present, council.quorum_ratio):
        state = "scoring"
    elif not rules.quorum_met(present, len(members), chair_present, council.quorum_ratio) or not counted:
        state = "no_quorum"
    elif spread > council.max_score_spread:
        state = "spread"
    elif pending:
        state = "scoring"
    else:
        state = "ready"
    result = None
    if counted:
        sheets = [{k: Decimal(v) for k, v in sheet.points.items()} for _m, sheet in counted]
        result = rules.result_compute(version, criteria, sheets, level=council.level)
    return ItemStatus(state, counted, excluded, spread, len(members), result)


def round_product_rescore(user, council_round: CouncilRound, item: RoundProduct) -> RoundProduct:
    """The chair (or an officer) asks every member to score the product again: a new attempt."""
    member = _membership(user, council_round.council_id)
    if not _is_officer(user) and (member is None or member.role != "chair"):
        raise EvaluationError(_("Chỉ Chủ tịch Hội đồng hoặc cán bộ quản lý được yêu cầu chấm lại."))
    item = _locked(RoundProduct, item.id)
    if council_round.status != "open" and item.outcome is not None:
        raise EvaluationError(_("Sản phẩm đã có kết quả."))
    item.attempt += 1
    db.session.flush()
    return item


# ---- results ----------------------------------------------------------------------------------


def _conclude(user, item: RoundProduct, action: str, note: str) -> None:
    """Move the application to its final status (history kept) so the pipeline and the producer see it."""
    try:
        application_conclude(item.application_id, action, user=user, note=note)
    except WorkflowError as error:
        raise EvaluationError(str(error)) from error


def _decide(user, council_round: CouncilRound, council: Council, item: RoundProduct, number: str, day: date) -> None:
    status = item_status(council_round, council, item)
    result = status.result
    version = rules.rule_version(council_round.act)
    item.mean_score = result.mean
    item.part_scores = {k: str(v) for k, v in result.parts.items()}
    item.criteria_means = {k: str(v) for k, v in result.criteria.items()}
    item.stars, item.outcome = result.stars, result.outcome
    if result.outcome == "recognised":
        _certify(item, version, result.stars, number, day, version.recognised_by.get(result.stars, "province"))
    elif result.outcome == "proposed_ministry":
        item.stars = result.stars
    _conclude(user, item, workflow.OUTCOME_ACTIONS[result.outcome], f"Quyết định số {number}")
    _notify_result(council_round, item, number, f"attempt-{item.attempt}")


def _notify_result(
    council_round: CouncilRound, item: RoundProduct, number: str, occasion: str, outcome: str | None = None
) -> None:
    """The producer hears of the result (in-app and e-mail): its producer accounts and its contact address.
    The notice key (round product, occasion) makes a repeat of the same decision tell nothing new."""
    row = db.session.execute(
        select(Product.name, Producer.id, Producer.email)
        .join(Producer, Producer.id == Product.producer_id)
        .where(Product.id == item.product_id)
    ).one()
    user_ids = db.session.scalars(
        select(User.id).where(User.producer_id == row.id, User.active.is_(True), any_(User.roles) == PRODUCER)
    ).all()
    emails = sorted(valid_emails([row.email] if row.email else []))  # a malformed contact is skipped
    if not user_ids and not emails:
        return  # a producer with no account and no address: its result is on the officers' pages only
    notice_create(
        "evaluation_result",
        f"round_product:{item.id}",
        occasion,
        template=f"evaluation_{outcome or item.outcome}",
        params={
            "product": row.name,
            "round": council_round.name,
            "decision_number": number,
            "score": f"{item.mean_score:.2f}".rstrip("0").rstrip(".") if item.mean_score is not None else None,
            "stars": item.stars,
        },
        user_ids=user_ids,
        emails=emails,
    )


def _certify(item: RoundProduct, version, stars: int, number: str, day: date, authority: str) -> None:
    product = db.session.scalar(select(Product).where(Product.id == item.product_id))
    try:
        certificate, _created = certificate_record(
            product,
            stars=stars,
            decision_number=number,
            decision_date=day,
            authority=authority,
            score=item.mean_score,
            part_scores={k: float(v) for k, v in (item.part_scores or {}).items()},
            act=version.act,
            source="council",
        )
    except CertificateError as error:
        raise EvaluationError(str(error)) from error
    item.certificate_id = certificate.id


def round_close(user, council_round: CouncilRound, number: str, day: date, authority_text: str) -> CouncilRound:
    """Close the round with its decision: every product must be ready (quorum met, spread within the limit)."""
    council_round = _locked(CouncilRound, council_round.id)
    if council_round.status != "open":
        raise EvaluationError(_("Đợt đánh giá đã kết thúc."))
    number = clean_text(number or "").strip()
    authority_text = clean_text(authority_text or "").strip()
    if not number or len(number) > 64:
        raise EvaluationError(_("Số quyết định là bắt buộc (tối đa 64 ký tự)."))
    if len(authority_text) > MAX_NAME:
        raise EvaluationError(_("Cơ quan ban hành tối đa 200 ký tự."))
    if day > clock.today() or day < council_round.meeting_on:
        raise EvaluationError(_("Ngày quyết định phải từ ngày họp đến hôm nay."))
    council = council_get(council_round.council_id)
    items = [item for item, _p in round_products(council_round)]
    if not items:
        raise EvaluationError(_("Đợt đánh giá chưa có sản phẩm nào."))
    blocked = [item for item in items if item_status(council_round, council, item).state != "ready"]
    if blocked:
        raise EvaluationError(
            _(
                "Còn %(count)d sản phẩm chưa đủ điều kiện có kết quả (thiếu phiếu, chưa đủ túc số hoặc chênh lệch điểm quá mức).",
                count=len(blocked),
            )
        )
    for item in items:
        _decide(user, council_round, council, item, number, day)
    council_round.status, council_round.closed_at = "closed", clock.now()
    council_round.decision_number, council_round.decision_date = number, day
    council_round.decision_authority = authority_text or None
    db.session.flush()
    return council_round


def ministry_outcome_record(
    user, council_round: CouncilRound, item: RoundProduct, outcome: str, number: str, day: date
) -> None:
    """The ministry's answer to a ≥ 90 proposal: 5★ by its decision, or the province recognises the 4★ band."""
    item = _locked(RoundProduct, item.id)
    if item.outcome != "proposed_ministry" or item.ministry_outcome is not None:
        raise EvaluationError(_("Sản phẩm không chờ kết quả của Bộ."))
    number = clean_text(number or "").strip()
    if not number or len(number) > 64:
        raise EvaluationError(_("Số quyết định là bắt buộc (tối đa 64 ký tự)."))
    version = rules.rule_version(council_round.act)
    if outcome == "recognised":
        _certify(item, version, 5, number, day, "ministry")
        item.stars = 5
    elif outcome == "not_recognised":
        _certify(item, version, 4, council_round.decision_number, council_round.decision_date, "province")
        item.stars = 4
    else:
        raise EvaluationError(_("Kết quả không hợp lệ."))
    item.ministry_outcome, item.ministry_decision_number, item.ministry_decision_date = outcome, number, day
    _conclude(user, item, "ministry_answer", f"Quyết định số {number}")
    _notify_result(council_round, item, number, "ministry", outcome="recognised")
    db.session.flush()


# ---- minutes and decision -----------------------------------------------------------------------


def round_report(council_round: CouncilRound):
    """What the minutes and the decision print: the council, its members, one line per product, the parts."""
    council = council_get(council_round.council_id)
    producers = {}
    lines = []
    for item, product in round_products(council_round):
        status = item_status(council_round, council, item)
        if product.producer_id not in producers:
            producer = db.session.scalar(select(Producer).where(Producer.id == product.producer_id))
            producers[product.producer_id] = producer.name if producer else ""
        decided = item.outcome is not None
        result = status.result
        lines.append(
            Line(
                product=product.name,
                producer=producers[product.producer_id],
                counted=len(status.counted),
                excluded=len(status.excluded),
                spread=status.spread,
                mean=item.mean_score if decided else (result.mean if result else None),
                parts=(
                    {k: Decimal(v) for k, v in (item.part_scores or {}).items()}
                    if decided
                    else (dict(result.parts) if result else {})
                ),
                stars=item.stars,
                outcome=item.outcome or status.state,
            )
        )
    parts = list(rules.rule_version(council_round.act).parts)
    return council, council_members(council), lines, parts


# ---- producers --------------------------------------------------------------------------------


def producer_results(user) -> list[tuple[RoundProduct, Product, CouncilRound]]:
    return db.session.execute(results_query(user)).all()


def results_query(user):
    """The select of the results the user may see (officers: all; a producer: its own), newest first."""
    query = (
        select(RoundProduct, Product, CouncilRound)
        .join(Product, Product.id == RoundProduct.product_id)
        .join(CouncilRound, CouncilRound.id == RoundProduct.round_id)
        .where(RoundProduct.outcome.is_not(None))
        .order_by(CouncilRound.meeting_on.desc(), Product.name, RoundProduct.id)
    )
    if not _is_officer(user):
        query = query.where(Product.producer_id == (user.producer_id or 0))
    return query


def producer_result_get(user, round_product_id: int):
    for row in producer_results(user):
        if row[0].id == round_product_id:
            return row
    abort(404)


@dataclass(frozen=True)
class Breakdown:
    parts: list  # (part, mean, max)
    criteria: list  # (criterion, mean, mandatory met or None)
    next_star: tuple[int, Decimal] | None


def result_breakdown(council_round: CouncilRound, item: RoundProduct, product: Product) -> Breakdown:
    version = rules.rule_version(council_round.act)
    criteria = criteria_for(council_round.act, product)
    means = {k: Decimal(v) for k, v in (item.criteria_means or {}).items()}
    parts = [(p, Decimal((item.part_scores or {}).get(p, "0")), m) for p, m in version.parts.items()]
    rows = []
    for c in criteria:
        mean = means.get(c.code, Decimal(0))
        rows.append((c, mean, None if c.mandatory_from is None else mean >= c.mandatory_min))
    return Breakdown(parts, rows, rules.next_star_gap(version, item.mean_score))


def review_deadline(council_round: CouncilRound) -> date | None:
    if council_round.decision_date is None:
        return None
    council = council_get(council_round.council_id)
    return council_round.decision_date + timedelta(days=council.review_days)


def review_requests(item: RoundProduct) -> list[ReviewRequest]:
    return db.session.scalars(
        select(ReviewRequest).where(ReviewRequest.round_product_id == item.id).order_by(ReviewRequest.requested_at)
    ).all()


def review_request(user, council_round: CouncilRound, item: RoundProduct, reason: str) -> ReviewRequest:
    reason = clean_text(reason or "").strip()
    if not reason or len(reason) > 4000:
        raise EvaluationError(_("Lý do đề nghị phúc khảo là bắt buộc (tối đa 4000 ký tự)."))
    deadline = review_deadline(council_round)
    if deadline is None or clock.today() > deadline:
        raise EvaluationError(_("Đã hết thời hạn đề nghị phúc khảo."))
    if any(r.outcome is None for r in review_requests(item)):
        raise EvaluationError(_("Đã có một đề nghị phúc khảo đang chờ trả lời."))
    request = ReviewRequest(round_product_id=item.id, requested_by=user.id, reason=reason)
    db.session.add(request)
    db.session.flush()
    return request


def review_answer(user, council_round: CouncilRound, item: RoundProduct, review_id: int, outcome: str, answer: str):
    """The chair answers: confirm the result, or re-score (the result is cleared and members score again)."""
    member = _membership(user, council_round.council_id)
    if member is None or member.role != "chair":
        raise EvaluationError(_("Chỉ Chủ tịch Hội đồng trả lời đề nghị phúc khảo."))
    review = db.session.scalar(
        select(ReviewRequest).where(ReviewRequest.id == review_id, ReviewRequest.round_product_id == item.id)
    )
    if review is None:
        abort(404)
    review = _locked(ReviewRequest, review.id)
    if review.outcome is not None:
        raise EvaluationError(_("Đề nghị phúc khảo đã được trả lời."))
    answer = clean_text(answer or "").strip()
    if outcome not in ("rescore", "confirmed") or not answer or len(answer) > 4000:
        raise EvaluationError(_("Hãy chọn kết quả và ghi nội dung trả lời (tối đa 4000 ký tự)."))
    review.outcome, review.answer, review.answered_by, review.answered_at = outcome, answer, user.id, clock.now()
    if outcome == "rescore":
        item = _locked(RoundProduct, item.id)
        item.attempt += 1  # a new attempt: every member scores the product again
    db.session.flush()
    return review


def review_result_record(user, council_round: CouncilRound, item: RoundProduct, number: str, day: date) -> RoundProduct:
    """After a re-score on review: record the result of the new attempt by a decision. When it differs, the
    certificate is corrected (other stars or score), revoked (no longer recognised) or issued (newly
    recognised), through certification.services (audited), and the application moves to its new status."""
    item = _locked(RoundProduct, item.id)
    pending = [r for r in review_requests(item) if r.outcome == "rescore"]
    if not pending:
        raise EvaluationError(_("Sản phẩm không chờ kết quả chấm lại sau phúc khảo."))
    number = clean_text(number or "").strip()
    if not number or len(number) > 64:
        raise EvaluationError(_("Số quyết định là bắt buộc (tối đa 64 ký tự)."))
    if day > clock.today() or day < (council_round.decision_date or council_round.meeting_on):
        raise EvaluationError(_("Ngày quyết định phải từ ngày quyết định của đợt đến hôm nay."))
    council = council_get(council_round.council_id)
    status = item_status(council_round, council, item)
    if status.state != "ready":
        raise EvaluationError(
            _("Sản phẩm chưa đủ điều kiện có kết quả (thiếu phiếu, chưa đủ túc số hoặc chênh lệch điểm quá mức).")
        )
    result, version = status.result, rules.rule_version(council_round.act)
    item.mean_score = result.mean
    item.part_scores = {k: str(v) for k, v in result.parts.items()}
    item.criteria_means = {k: str(v) for k, v in result.criteria.items()}
    item.outcome, item.stars = result.outcome, result.stars
    certificate = (
        db.session.scalar(select(Certificate).where(Certificate.id == item.certificate_id))
        if item.certificate_id
        else None
    )
    try:
        if result.outcome == "recognised" and certificate is not None:
            if (certificate.stars, certificate.score) != (result.stars, item.mean_score):
                certificate_correct(
                    certificate,
                    stars=result.stars,
                    score=item.mean_score,
                    part_scores={k: float(v) for k, v in result.parts.items()},
                )
        elif result.outcome == "recognised":
            authority = version.recognised_by.get(result.stars, "province")
            _certify(item, version, result.stars, number, day, authority)
        elif certificate is not None and certificate.revoked_on is None:
            certificate_revoke(certificate, "Kết quả chấm lại sau phúc khảo", number, day)
    except CertificateError as error:
        raise EvaluationError(str(error)) from error
    for review in pending:
        review.outcome = "rescored"
    _conclude(user, item, workflow.OUTCOME_ACTIONS[result.outcome], f"Phúc khảo: quyết định số {number}")
    _notify_result(council_round, item, number, f"review-{item.attempt}")
    db.session.flush()
    return item
