"""Annual cycles and applications: opening a cycle, moving an application, its checklist.

Who reaches which application is decided here (a producer user: its own producer's only, anything
else answers 404 like a missing id). Every change of state takes a row lock first, so two people
acting at once give one transition; the other gets ChangedMeanwhile.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, text, true
from sqlalchemy.exc import OperationalError

from app.auth.policy import bound_by_windows, own_producer_id, own_unit_id, reaches
from app.certification.services import product_certificates, product_current_certificate
from app.core import clock
from app.core.access import get_or_404
from app.core.i18n import format_day
from app.core.text import nfc
from app.cycle import workflow
from app.cycle.checklist import ChecklistItem, best_document, document_state, requirements_for
from app.cycle.models import Application, ApplicationDocument, ApplicationEvent, Cycle, EvaluationRound
from app.documents.models import Document
from app.documents.services import document_get, document_remove
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from app.registry.services import filter_products, with_producer
from tenants.models import current_tenant

DEFAULT_TEMPLATE = {
    "ideas": ["02-01", "04-30"],
    "plans": ["03-01", "05-31"],
    "dossiers": ["04-01", "10-31"],
    "rounds": [
        {"code": "province-1", "name": "Đợt 1 cấp tỉnh", "level": "province", "deadline": "07-30"},
        {"code": "province-2", "name": "Đợt 2 cấp tỉnh", "level": "province", "deadline": "10-30"},
    ],
}


class WorkflowError(ValueError):
    """A rule of the cycle was broken; the message is translated and safe to show. `field` names the form
    field it is about, when there is one."""

    def __init__(self, message: str = "", field: str | None = None):
        super().__init__(message)
        self.field = field


class ChangedMeanwhile(WorkflowError):
    """Someone else changed the record between the page being shown and this action."""

    def __init__(self):
        super().__init__(_("Hồ sơ đã được người khác thay đổi, vui lòng tải lại trang."))


# pg_advisory_xact_lock(namespace, tenant): cycles of one tenant are opened in turn.
CYCLE_OPEN_LOCK_NAMESPACE = 0x0C0C1E
# How long an action waits for another one holding the same record before giving up.
LOCK_TIMEOUT = "10s"
LOCK_NOT_AVAILABLE = "55P03"


def _locked(model, object_id: int):
    """Lock the row for this transaction and reload it: a concurrent action on it waits until the
    first one commits, then reads what that one wrote."""
    db.session.execute(text("SELECT set_config('lock_timeout', :timeout, true)"), {"timeout": LOCK_TIMEOUT})
    try:
        return db.session.scalar(
            select(model).where(model.id == object_id).with_for_update().execution_options(populate_existing=True)
        )
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise ChangedMeanwhile() from error
        raise


def _day(year: int, month_day: str) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    return date(year, month, day)


def cycle_open(year: int) -> Cycle:
    """Create the tenant's cycle for a year from its template (province file [cycle], or the default)."""
    # Two officers opening the same year at once: the second waits, then finds the first one's cycle.
    db.session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, CAST(:tenant AS integer))"),
        {"namespace": CYCLE_OPEN_LOCK_NAMESPACE, "tenant": current_tenant().id},
    )
    if db.session.scalar(select(Cycle).where(Cycle.year == year)):
        raise WorkflowError(_("Chu trình năm %(year)d đã có.", year=year))
    template = {**DEFAULT_TEMPLATE, **(current_tenant().cycle_template or {})}
    cycle = Cycle(
        year=year,
        ideas_from=_day(year, template["ideas"][0]),
        ideas_until=_day(year, template["ideas"][1]),
        plans_from=_day(year, template["plans"][0]),
        plans_until=_day(year, template["plans"][1]),
        dossiers_from=_day(year, template["dossiers"][0]),
        dossiers_until=_day(year, template["dossiers"][1]),
    )
    db.session.add(cycle)
    db.session.flush()
    for spec in template["rounds"]:
        # District rounds ended with the district level on 1/7/2025.
        deadline = _day(year, spec["deadline"])
        if spec["level"] == "district" and deadline >= workflow.COMMUNE_SCREENING_FROM:
            continue
        db.session.add(
            EvaluationRound(
                cycle_id=cycle.id, code=spec["code"], name=spec["name"], level=spec["level"], deadline=deadline
            )
        )
    db.session.flush()
    return cycle


def cycle_get(cycle_id: int) -> Cycle:
    return get_or_404(Cycle, cycle_id)


def cycle_update_windows(cycle: Cycle, **windows: date) -> None:
    if cycle.id is not None:
        _locked(Cycle, cycle.id)  # one edit at a time; the reload is overwritten by these windows
    for name in ("ideas", "plans", "dossiers"):
        start, end = windows[f"{name}_from"], windows[f"{name}_until"]
        if start > end:
            raise WorkflowError(_("Ngày bắt đầu phải trước ngày kết thúc."))
        setattr(cycle, f"{name}_from", start)
        setattr(cycle, f"{name}_until", end)


def cycle_keep_open(cycle: Cycle, start: date, end: date) -> None:
    """Every window from start to end (demo data, and tests of the steps after the idea)."""
    cycle_update_windows(
        cycle,
        **{
            f"{name}_{edge}": day
            for name in ("ideas", "plans", "dossiers")
            for edge, day in (("from", start), ("until", end))
        },
    )


def current_cycle(today: date) -> Cycle | None:
    return db.session.scalar(select(Cycle).where(Cycle.year == today.year))


def _window(cycle: Cycle, name: str) -> tuple[date, date]:
    return getattr(cycle, f"{name}_from"), getattr(cycle, f"{name}_until")


def _check_window(cycle: Cycle, name: str, today: date) -> None:
    start, end = _window(cycle, name)
    if not start <= today <= end:
        labels = {"ideas": _("nhận ý tưởng"), "plans": _("nhận phương án kinh doanh"), "dossiers": _("nộp hồ sơ")}
        raise WorkflowError(
            _(
                "Ngoài thời gian %(what)s của chu trình (%(start)s – %(end)s).",
                what=labels[name],
                start=format_day(start),
                end=format_day(end),
            )
        )


def _record(application: Application, action: str, before: str | None, actor, note: str | None = None) -> None:
    db.session.add(
        ApplicationEvent(
            application_id=application.id,
            actor_label=actor.email,
            action=action,
            from_status=before,
            to_status=application.status,
            note=note,
        )
    )


def _check_producer(user, product: Product, action: str) -> None:
    if not reaches(user, action, product.producer_id):
        raise WorkflowError(_("Bạn chỉ thao tác được với sản phẩm của chủ thể mình."))


def application_get(user, application_id: int, action: str = "application.view") -> Application:
    """One application the user may reach: another producer's (for a producer user) answers the same
    404 as a missing or foreign id."""
    own = own_producer_id(user, action)
    scope = []
    if own is not None:  # in the one query: another producer's id costs what a missing one does
        scope.append(Application.product_id.in_(select(Product.id).where(Product.producer_id == own)))
    own_unit = own_unit_id(user)
    if own_unit is not None:  # a commune officer: another commune's application is as missing as a foreign one
        scope.append(Application.product_id.in_(select(Product.id).where(Product.unit_id == own_unit)))
    return get_or_404(Application, application_id, *scope)


def application_parties(application: Application) -> tuple[Product, Producer]:
    """The application's product and its producer."""
    product = db.session.scalar(select(Product).where(Product.id == application.product_id))
    producer = db.session.scalar(select(Producer).where(Producer.id == product.producer_id))
    return product, producer


def application_start(
    *,
    cycle: Cycle,
    product: Product,
    kind: str,
    user,
    today: date,
    idea_summary: str = "",
    target_stars: int | None = None,
) -> Application:
    """Register a product in the cycle: an idea for a new product, a dossier for upgrade/re-recognition."""
    if kind not in workflow.KIND_LABELS:
        raise WorkflowError(_("Loại đánh giá không hợp lệ."))
    _check_producer(user, product, "application.start")
    # A double click (or two officers) registering the product at once: the second waits here, then
    # finds the first one's application below.
    _locked(Product, product.id)
    if db.session.scalar(
        select(Application.id).where(Application.cycle_id == cycle.id, Application.product_id == product.id)
    ):
        raise WorkflowError(
            _("Sản phẩm này đã đăng ký trong chu trình năm %(year)d.", year=cycle.year), field="product_id"
        )
    if kind == "new":
        if not nfc(idea_summary):
            raise WorkflowError(_("Hãy mô tả ý tưởng sản phẩm."), field="idea_summary")
        if bound_by_windows(user):
            _check_window(cycle, "ideas", today)
    else:
        # The stars now, or those of the latest certificate when it has lapsed (re-recognition after expiry).
        certificate = product_current_certificate(product, today) or next(iter(product_certificates(product)), None)
        if certificate is None:
            raise WorkflowError(_("Chỉ sản phẩm đã được công nhận mới có thể nâng hạng hoặc công nhận lại."))
        current_stars = certificate.stars
        if kind == "upgrade" and (target_stars or 0) <= current_stars:
            raise WorkflowError(_("Hạng sao đề nghị phải cao hơn hạng hiện có (%(stars)d sao).", stars=current_stars))
    application = Application(
        cycle_id=cycle.id,
        product_id=product.id,
        kind=kind,
        status=workflow.initial_status(kind),
        screening_level=workflow.screening_level(today),
        idea_summary=nfc(idea_summary),
        target_stars=target_stars if kind == "upgrade" else (current_stars if kind != "new" else None),
    )
    db.session.add(application)
    db.session.flush()
    _record(application, "start", None, user)
    return application


def application_act(
    application: Application,
    action: str,
    *,
    user,
    today: date,
    reason: str = "",
    business_plan: str = "",
    expected_status: str | None = None,
    idea_summary: str = "",
) -> None:
    """Apply one transition of the workflow, with every rule checked and the history recorded.

    The row is locked first. expected_status is the status the user saw (the page carries it): if
    someone else moved the application meanwhile, ChangedMeanwhile is raised and nothing changes.
    """
    transition = workflow.TRANSITIONS.get(action)
    if transition is None or transition.system:
        raise WorkflowError(_("Thao tác này không áp dụng cho hồ sơ ở trạng thái hiện tại."))
    _locked(Application, application.id)
    if expected_status is not None and application.status != expected_status:
        raise ChangedMeanwhile()
    if application.status not in transition.sources:
        raise WorkflowError(_("Thao tác này không áp dụng cho hồ sơ ở trạng thái hiện tại."))
    if not workflow.may_perform(transition, user):
        raise WorkflowError(_("Vai trò của bạn không thực hiện được thao tác này."))
    product = db.session.scalar(select(Product).where(Product.id == application.product_id))
    _check_producer(user, product, "application.view")
    reason = nfc(reason)
    if transition.needs_reason and not reason:
        raise WorkflowError(_("Hãy ghi rõ lý do trả lại để chủ thể sửa."))
    cycle = db.session.scalar(select(Cycle).where(Cycle.id == application.cycle_id))
    if transition.window:
        _check_window(cycle, transition.window, today)
    if action == "resubmit_idea":
        resubmit_from = idea_resubmit_from(application)
        if resubmit_from and today < resubmit_from:
            raise WorkflowError(
                _(
                    "Ý tưởng bị trả lại chỉ được gửi lại sau %(days)d ngày: từ ngày %(day)s.",
                    days=workflow.IDEA_RESUBMIT_AFTER_DAYS,
                    day=format_day(resubmit_from),
                )
            )
        # The producer edits the returned idea as it sends it again (empty: unchanged).
        application.idea_summary = nfc(idea_summary) or application.idea_summary
    if action == "submit_plan":
        if not nfc(business_plan) and not application.business_plan:
            raise WorkflowError(_("Hãy nhập tóm tắt phương án kinh doanh."))
        application.business_plan = nfc(business_plan) or application.business_plan
    if action == "submit_dossier":
        missing = [
            item.requirement.name
            for item in application_checklist(application, today)
            if item.requirement.required and item.requirement.provided_by == "producer" and not item.satisfied
        ]
        if missing:
            raise WorkflowError(_("Hồ sơ còn thiếu: %(items)s.", items="; ".join(missing)))
        application.screening_level = workflow.screening_level(today)
    own_unit = own_unit_id(user) if action in ("screen", "return_dossier") else None
    if own_unit is not None and (application.screening_level != "commune" or own_unit != product.unit_id):
        raise WorkflowError(_("Chỉ cán bộ xã nơi có sản phẩm được sơ duyệt hồ sơ này."))
    before = application.status
    application.status = transition.target
    application.last_reason = reason if transition.needs_reason else None
    _record(application, action, before, user, reason or None)


def idea_resubmit_from(application: Application) -> date | None:
    """The first day a returned idea may be sent again (IDEA_RESUBMIT_AFTER_DAYS after the return), or None."""
    if application.status != "idea_returned":
        return None
    returned_on = _last_event_day(application, "return_idea")
    return returned_on + timedelta(days=workflow.IDEA_RESUBMIT_AFTER_DAYS) if returned_on else None


def application_conclude(application_id: int, action: str, *, user, note: str | None = None) -> Application:
    """Record the council's (or the ministry's) outcome on the application, through the workflow with its
    history. Called by app/evaluation only; the same outcome twice is a no-op (a correction that
    changes nothing)."""
    transition = workflow.TRANSITIONS[action]
    application = _locked(Application, application_id)
    if application.status == transition.target:
        return application
    if application.status not in transition.sources or not workflow.may_perform(transition, user):
        raise WorkflowError(_("Thao tác này không áp dụng cho hồ sơ ở trạng thái hiện tại."))
    before = application.status
    application.status = transition.target
    application.last_reason = None
    _record(application, action, before, user, note)
    return application


def _last_event_day(application: Application, action: str) -> date | None:
    at = db.session.scalar(
        select(func.max(ApplicationEvent.at)).where(
            ApplicationEvent.application_id == application.id, ApplicationEvent.action == action
        )
    )
    return at.astimezone(clock.ZONE).date() if at else None  # Vietnam's day of it, not UTC's


def application_history(application: Application) -> list[ApplicationEvent]:
    return db.session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.at, ApplicationEvent.id)
    ).all()


def product_group(product: Product) -> str | None:
    """The top-level group code (e.g. 'VI') of the product's set, walking up the taxonomy."""
    node_id = product.product_set_id
    while node_id is not None:
        node = db.session.get(TaxonomyNode, node_id)
        if node.parent_id is None:
            return node.code
        node_id = node.parent_id
    return None


def _candidate_documents(application: Application, product: Product) -> list[Document]:
    """Documents linked to the application, plus those uploaded for this product (or producer)."""
    linked = select(ApplicationDocument.document_id).where(ApplicationDocument.application_id == application.id)
    return db.session.scalars(
        select(Document).where(
            Document.producer_id == product.producer_id,
            Document.status != "awaiting_upload",
            or_(Document.id.in_(linked), Document.created_at >= application.created_at),
            or_(Document.product_id == product.id, Document.product_id.is_(None)),
        )
    ).all()


def _reusable_documents(application: Application, product: Product, already: set[int]) -> list[Document]:
    """Accepted documents of earlier applications of the same product or producer."""
    return db.session.scalars(
        select(Document)
        .where(
            Document.producer_id == product.producer_id,
            Document.status == "accepted",
            Document.created_at < application.created_at,
            Document.id.not_in(already) if already else true(),
        )
        .order_by(Document.created_at.desc())
    ).all()


def application_checklist(application: Application, today: date) -> list[ChecklistItem]:
    product = db.session.scalar(select(Product).where(Product.id == application.product_id))
    requirements = requirements_for(current_tenant().criteria_act, application.kind, product_group(product))
    documents = _candidate_documents(application, product)
    reusable = _reusable_documents(application, product, {d.id for d in documents})
    items = []
    for requirement in requirements:
        own = [
            d
            for d in documents
            if d.requirement == requirement.code and (requirement.producer_wide or d.product_id == product.id)
        ]
        document = best_document(own, today)
        state = document_state(document, today) if document else "missing"
        candidates = [
            d
            for d in reusable
            if d.requirement == requirement.code
            and (requirement.producer_wide or d.product_id == product.id)
            and document_state(d, today) in ("accepted", "expiring")
        ]
        items.append(ChecklistItem(requirement, state, document, candidates))
    return items


def application_reuse_document(application: Application, requirement: str, document_id: int, today: date) -> None:
    """Use a still-valid document from an earlier application instead of uploading it again.

    Idempotent: a second click (or a second officer) finds the link made and changes nothing.
    """
    _locked(Application, application.id)
    linked = db.session.execute(
        select(ApplicationDocument.requirement, ApplicationDocument.document_id).where(
            ApplicationDocument.application_id == application.id
        )
    ).all()
    if (requirement, document_id) in {tuple(row) for row in linked}:
        return
    item = next((i for i in application_checklist(application, today) if i.requirement.code == requirement), None)
    if item is None or document_id not in {d.id for d in item.reusable}:
        raise WorkflowError(_("Tài liệu này không dùng lại được cho yêu cầu đã chọn."))
    db.session.add(ApplicationDocument(application_id=application.id, requirement=requirement, document_id=document_id))


def applications_search(**filters):
    return db.session.execute(applications_query(**filters)).all()


def applications_query(
    *,
    cycle_id: int,
    status: str = "",
    kind: str = "",
    unit_id: int | None = None,
    query: str = "",
    producer_id: int | None = None,
    own_unit: int | None = None,
):
    """The select of a cycle's pipeline with its product and producer, filtered, newest change first
    (`own_unit`: a commune officer's commune, which no filter can widen)."""
    stmt = (
        with_producer(
            select(Application, Product, Producer).join(
                Product, (Product.id == Application.product_id) & (Product.tenant_id == Application.tenant_id)
            )
        )
        .where(Application.cycle_id == cycle_id)
        .order_by(Application.updated_at.desc(), Application.id.desc())
    )
    stmt = filter_products(stmt, query=query, unit_id=unit_id, producer_id=producer_id)
    if status:
        stmt = stmt.where(Application.status == status)
    if kind:
        stmt = stmt.where(Application.kind == kind)
    if own_unit is not None:
        stmt = stmt.where(Product.unit_id == own_unit)
    return stmt


def applications_for(user, **filters):
    """The pipeline the user may see (a producer user: its own producer's applications)."""
    return db.session.execute(applications_query_for(user, **filters)).all()


def applications_query_for(
    user, *, cycle_id: int, status: str = "", kind: str = "", unit_id: int | None = None, query: str = ""
):
    """The select of the pipeline the user may see (a producer user: its own producer's applications; a
    commune officer: its commune's); the list pages it, the export reads it all."""
    return applications_query(
        cycle_id=cycle_id,
        status=status,
        kind=kind,
        unit_id=unit_id,
        query=query,
        producer_id=own_producer_id(user, "application.view"),
        own_unit=own_unit_id(user),
    )


def status_counts_for(user, cycle_id: int) -> dict[str, int]:
    """The province's counts by status; none for a producer user (they are not its to see)."""
    if own_producer_id(user, "application.view") is not None:
        return {}
    return status_counts(cycle_id, own_unit=own_unit_id(user))


def status_counts(cycle_id: int, own_unit: int | None = None) -> dict[str, int]:
    stmt = select(Application.status, func.count()).where(Application.cycle_id == cycle_id)
    if own_unit is not None:  # a commune officer counts its commune's applications only
        stmt = stmt.join(
            Product, (Product.id == Application.product_id) & (Product.tenant_id == Application.tenant_id)
        ).where(Product.unit_id == own_unit)
    return dict(db.session.execute(stmt.group_by(Application.status)).all())


def application_document_remove(user, application: Application, document_id: int) -> None:
    """Remove a not-yet-accepted file of the application's producer (another producer's: 404)."""
    producer_id = db.session.scalar(select(Product.producer_id).where(Product.id == application.product_id))
    document = document_get(user, document_id, "documents.upload")
    if document.producer_id != producer_id:
        abort(404)
    document_remove(user, document.id)
