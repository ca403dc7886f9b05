"""Recording and reading the audit log.

Every flushed change to a tenant-scoped row is written in the same transaction as the change, so
there is no change without its audit entry (and no entry for a change that rolled back).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import has_request_context, request
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.extensions import db
from tenants.context import current_actor, current_tenant_id
from tenants.models import TenantScoped

# Secrets are never copied into the log; a change to them shows as masked.
MASKED_FIELDS = {"password_hash", "invite_token_hash"}
MASK = "••••"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# A user's language is a preference, not province data: switching it is not logged.
SKIPPED_FIELDS = {"tenant_id", "id", "created_at", "updated_at", "last_login_at", "locale"}


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    changes: dict[str, list] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SKIPPED_FIELDS:
            continue
        if action == "update":
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
        else:
            value = getattr(obj, key)
            before, after = (None, value) if action == "create" else (value, None)
        if key in MASKED_FIELDS:
            before = MASK if before else None
            after = MASK if after else None
        changes[key] = [_jsonable(before), _jsonable(after)]
    return changes


def _record_changes(session: Session, flush_context) -> None:
    tenant_id = current_tenant_id()
    if tenant_id is None:
        return  # the flush guard has already refused tenant writes without a tenant
    actor = current_actor()
    remote = request.remote_addr if has_request_context() else None
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not isinstance(obj, TenantScoped) or isinstance(obj, AuditEntry):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "actor_kind": actor.kind,
                    "actor_id": actor.id,
                    "actor_label": actor.label,
                    "action": action,
                    "entity": obj.__tablename__,
                    "entity_id": obj.id,
                    "changes": changes,
                    "remote_addr": remote,
                }
            )
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def install_audit_hook() -> None:
    if not event.contains(Session, "after_flush", _record_changes):
        event.listen(Session, "after_flush", _record_changes)


def _start_of_day(day: date) -> datetime:
    """Days are Vietnamese calendar days, whatever the server's timezone."""
    return datetime.combine(day, time.min, tzinfo=VIETNAM)


def audit_query(
    *,
    entity: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
):
    """The select of entries, newest first; filters are optional. Tenant criteria are added by the isolation hook."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor_label.ilike(f"%{actor}%"))
    if date_from:
        query = query.where(AuditEntry.at >= _start_of_day(date_from))
    if date_to:
        query = query.where(AuditEntry.at < _start_of_day(date_to + timedelta(days=1)))
    return query


def audit_entities() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)))
