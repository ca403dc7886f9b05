"""Inspection policy (read, edit, sync from the province file), who may inspect what, overdue conditions,
and the hand-off to the scheduling job."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date

from redis.exceptions import RedisError
from sqlalchemy import and_, event, or_, select
from sqlalchemy.exc import NoResultFound

from app.auth.models import User
from app.auth.roles import INSPECTOR, PROVINCE_OFFICER
from app.core import clock
from app.extensions import db
from app.inspection.models import CorrectiveAction, Inspection, InspectionPolicy
from app.inspection.policy import DEFAULT_RULES, InspectionRules, PolicyError, group_of, rules_parse
from app.registry.models import Producer, Product, TaxonomyNode
from jobs.queues import enqueue_now, redis_connection
from tenants.context import current_tenant_id

SCHEDULE_JOB = "app.inspection.jobs.schedule_inspections"
log = logging.getLogger(__name__)
RETRY_INTERVALS = (5, 30, 120, 600, 1800)  # seconds; app.config["INSPECTION_RETRY_INTERVALS"] overrides


class PolicyChangedMeanwhile(PolicyError):
    pass


# ----------------------------------------------------------------------------- the policy


def inspection_policy_get() -> InspectionPolicy | None:
    """The current tenant's policy row (None: the defaults apply)."""
    return db.session.scalar(select(InspectionPolicy))


def inspection_policy_current() -> tuple[InspectionRules, int]:
    """The rules in force and their version (0: the defaults, no row yet)."""
    row = inspection_policy_get()
    if row is None:
        return rules_parse(DEFAULT_RULES), 0
    return rules_parse(row.rules), row.version


def inspection_rules() -> InspectionRules:
    return inspection_policy_current()[0]


def _store(row: InspectionPolicy | None, rules: InspectionRules, source: str, **fields) -> InspectionPolicy:
    data = rules.as_data()
    if row is None:
        row = InspectionPolicy(rules=data, version=1, source=source, **fields)
        db.session.add(row)
    else:
        row.rules, row.version, row.source = data, row.version + 1, source
        for key, value in fields.items():
            setattr(row, key, value)
    db.session.flush()  # audited by the flush hook like every other edit
    inspection_schedule_later()  # re-plan what is not yet done
    return row


def inspection_policy_update(user, data: dict, expected_version: int | None) -> InspectionPolicy:
    """A province admin's edit of the policy (checked, audited, versioned); re-plans after commit.

    expected_version is the version the page showed (0 for the defaults): a policy changed meanwhile
    is refused with PolicyChangedMeanwhile and nothing changes.
    """
    rules = rules_parse(data)
    row = db.session.scalar(select(InspectionPolicy).with_for_update())
    current = row.version if row is not None else 0
    if expected_version is not None and expected_version != current:
        raise PolicyChangedMeanwhile(_changed_message())
    if row is not None and rules_parse(row.rules) == rules:
        return row  # nothing changed: no new version, no re-plan
    return _store(row, rules, "edited", updated_by=getattr(user, "id", None))


def _changed_message():
    from flask_babel import lazy_gettext as _l

    return _l("Chính sách đã được người khác thay đổi trong lúc bạn sửa. Hãy tải lại trang.")


def section_sha256(section: dict | None) -> str:
    return hashlib.sha256(json.dumps(section or {}, sort_keys=True, default=str).encode()).hexdigest()


def inspection_policy_sync(section: dict | None) -> bool:
    """Apply the province file's `[inspection]` section (current tenant); returns whether it changed.

    The file's section is applied when it differs from the one last applied (file_sha256), so an admin's
    edit on the policy page stays until someone changes the file. Raises PolicyError on an invalid section.
    """
    rules = rules_parse(section)
    sha = section_sha256(section)
    row = db.session.scalar(select(InspectionPolicy).with_for_update())
    if row is not None and row.file_sha256 == sha:
        return False
    if row is not None and rules_parse(row.rules) == rules:
        row.file_sha256 = sha
        return False
    _store(row, rules, "file" if section else "default", file_sha256=sha)
    return True


# ----------------------------------------------------------------------------- inspectors


def product_group_code(product: Product) -> str | None:
    """The product's QĐ 148 group ("I".."VI"), 1048 sectors mapped; None when the product has no set."""
    if product.product_set_id is None:
        return None
    node = db.session.get(TaxonomyNode, product.product_set_id)
    return group_of(node.act, node.code) if node else None


def inspection_commune_id(inspection: Inspection) -> int | None:
    """The commune the inspected product comes from: the product's own, else its producer's."""
    row = db.session.execute(
        select(Product.unit_id, Producer.unit_id)
        .join(Producer, and_(Producer.tenant_id == Product.tenant_id, Producer.id == Product.producer_id))
        .where(Product.id == inspection.product_id)
    ).one_or_none()
    if row is None:
        raise NoResultFound("inspection without its product")
    return row[0] or row[1]


def inspector_allowed(inspection: Inspection, user: User, rules: InspectionRules | None = None) -> bool:
    """Whether the user may be assigned: an inspector or province officer of the tenant, and — when the
    policy asks for an inspector from outside the commune — not one who works in the product's commune."""
    if not user.is_active or not user.has_role(INSPECTOR, PROVINCE_OFFICER):
        return False
    rules = rules or inspection_rules()
    if not rules.outside_commune or user.unit_id is None:
        return True
    return user.unit_id != inspection_commune_id(inspection)


def inspectors_eligible(inspection: Inspection) -> list[User]:
    """Every user who may be assigned to this inspection, by name."""
    rules = inspection_rules()
    users = db.session.scalars(
        select(User)
        .where(or_(User.roles.any(INSPECTOR), User.roles.any(PROVINCE_OFFICER)))
        .order_by(User.full_name, User.id)
    ).all()
    return [user for user in users if inspector_allowed(inspection, user, rules)]


# ----------------------------------------------------------------------------- overdue (derived, never stored)


def inspection_overdue(today: date | None = None):
    """SQL condition: the inspection is overdue on `today` (open and past its due date)."""
    return and_(Inspection.status.in_(("planned", "assigned")), Inspection.due_on < (today or clock.today()))


def corrective_action_overdue(today: date | None = None):
    """SQL condition: the corrective action is overdue on `today` (open and past its due date)."""
    return and_(CorrectiveAction.status == "open", CorrectiveAction.due_on < (today or clock.today()))


# ----------------------------------------------------------------------------- the scheduling job


def schedule_job_id(tenant_id: int) -> str:
    return f"inspections-schedule-{tenant_id}"


def _status(job_id: str) -> str | None:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        return Job.fetch(job_id, connection=redis_connection()).get_status()
    except NoSuchJobError:
        return None


def schedule_retry():
    """Backoff for the scheduling jobs: a database blink or a Redis restart is over in seconds, a longer
    outage in minutes; after that the job lands in the failed list and the daily reconciler plans anyway."""
    from flask import current_app
    from rq import Retry

    intervals = current_app.config.get("INSPECTION_RETRY_INTERVALS", RETRY_INTERVALS)
    return Retry(max=len(intervals), interval=list(intervals))


def inspection_schedule_enqueue(tenant_id: int | None = None):
    """Queue the tenant's scheduling job now, unless one is already waiting (it will read our rows).

    The job id is deterministic, so the same request enqueued twice is one job. A job already running may
    have read the rows before our change, so another one is queued behind it under a second id.
    """
    tenant_id = tenant_id or current_tenant_id()
    job_id = schedule_job_id(tenant_id)
    status = _status(job_id)
    if status in ("queued", "deferred", "scheduled"):
        return None
    if status == "started":
        job_id = f"{job_id}-next"
        if _status(job_id) in ("queued", "deferred", "scheduled"):
            return None
    return enqueue_now("scheduling", SCHEDULE_JOB, tenant_id, job_id=job_id, retry=schedule_retry())


PENDING = "inspection_schedule_tenants"


def inspection_schedule_later() -> None:
    """After this transaction commits, (re)plan the current tenant's inspections. Called by certification
    (through app/certification/hooks.py) and by policy changes; any number of calls in one transaction
    queue one job. Nothing is queued when the transaction rolls back."""
    session = db.session()
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(PENDING, set()).add(current_tenant_id())
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_rollback)


def _after_commit(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the real commit is still to come
    for tenant_id in sorted(session.info.pop(PENDING, ())):
        try:
            inspection_schedule_enqueue(tenant_id)
        except RedisError:
            # Redis is transport, PostgreSQL the truth: the reconciler sweep plans what this job would have.
            log.warning("inspection scheduling of tenant %s not queued (Redis unavailable)", tenant_id)


def _after_rollback(session, previous_transaction) -> None:
    if not previous_transaction.nested:  # a savepoint rolled back leaves the outer transaction's wish intact
        session.info.pop(PENDING, None)
