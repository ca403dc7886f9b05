"""Recording and reading the audit log.

Every flushed change to a tenant-scoped row is written in the same transaction as the change, so
there is no change without its audit entry (and no entry for a change that rolled back). Rows written
set-wise below the ORM (app/core/bulk.py: the Excel import's batches) go through audited_insert and
audited_update, which write the entries the flush hook would have written for them.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import has_request_context, request
from sqlalchemy import Float, Numeric, event, insert, inspect, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.bulk import insert_rows, update_rows
from app.extensions import db
from tenants.context import TenantNotSet, current_actor, current_tenant_id
from tenants.models import TenantScoped

# Secrets are never copied into the log; a change to them shows as masked.
MASKED_FIELDS = {"password_hash", "invite_token_hash"}
MASK = "••••"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# A user's language is a preference, not province data: switching it is not logged.
SKIPPED_FIELDS = {"tenant_id", "id", "created_at", "updated_at", "last_login_at", "locale"}


def _jsonable(value):
    if value is None or type(value) in (str, int, bool):
        return value
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
        changes[key] = [_logged(key, before), _logged(key, after)]
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
            rows.append(_entry(tenant_id, actor, remote, action, obj.__tablename__, obj.id, changes))
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def _entry(tenant_id: int, actor, remote, action: str, entity: str, entity_id: int, changes: dict) -> dict:
    return {
        "tenant_id": tenant_id,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "changes": changes,
        "remote_addr": remote,
    }


def _logged(key: str, value):
    if key in MASKED_FIELDS:
        return MASK if value else None
    return _jsonable(value)


def audited_insert(model, rows: list[dict]) -> list[int]:
    """INSERT new rows of the current tenant set-wise (app/core/bulk.py) with the audit entries the flush hook
    writes for new objects: one "create" entry per row, every column but the skipped ones, secrets masked. The
    entries are made by PostgreSQL from the rows as stored, in the same statement (the values as the hook writes
    them: numbers as text, dates in ISO form; a column the row does not name is logged as None, as an object's
    unset attribute is). Returns the ids in the rows' order.

    `rows`: {attribute: value}, Python-side defaults already applied (bulk.column_defaults), no id, no tenant_id."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotSet(f"cannot insert {model.__name__} with no tenant set")
    actor = current_actor()
    entries = (
        f'INSERT INTO "{AuditEntry.__tablename__}" (tenant_id, actor_kind, actor_id, actor_label, action, entity, '
        "entity_id, changes, remote_addr) "
        "SELECT inserted.tenant_id, CAST(:a_kind AS TEXT), CAST(:a_id AS BIGINT), CAST(:a_label AS TEXT), 'create', "
        f"CAST(:a_entity AS TEXT), inserted.id, {_created_changes(model)}, CAST(:a_remote AS TEXT) "
        "FROM inserted ORDER BY inserted.id"
    )
    parameters = {
        "a_kind": actor.kind,
        "a_id": actor.id,
        "a_label": actor.label,
        "a_entity": model.__tablename__,
        "a_remote": request.remote_addr if has_request_context() else None,
    }
    return insert_rows(model, [{"tenant_id": tenant_id, **row} for row in rows], then=(entries, parameters))


@functools.cache
def _created_changes(model) -> str:
    """SQL: the "changes" of a new row of `inserted`, as _changes() makes them for a new object."""
    pairs = []
    for attr in inspect(model).column_attrs:
        if attr.key in SKIPPED_FIELDS:
            continue
        column = attr.columns[0]
        value = f'inserted."{column.name}"'
        if attr.key in MASKED_FIELDS:
            logged = f"CASE WHEN COALESCE(CAST({value} AS TEXT), '') = '' THEN NULL ELSE to_jsonb(CAST('{MASK}' AS TEXT)) END"
        elif isinstance(column.type, Numeric) and not isinstance(column.type, Float):  # a Decimal: its text
            logged = f"to_jsonb(CAST({value} AS TEXT))"
        else:
            logged = f"to_jsonb({value})"
        pairs.append(f"'{attr.key}', jsonb_build_array(NULL, {logged})")
    # jsonb_build_object takes at most 100 arguments: 40 pairs per call, joined.
    parts = [", ".join(pairs[i : i + 40]) for i in range(0, len(pairs), 40)]
    return " || ".join(f"jsonb_build_object({part})" for part in parts) or "CAST('{}' AS JSONB)"


def audited_update(model, changes: list[tuple[int, dict[str, tuple]]]) -> None:
    """UPDATE rows of the current tenant set-wise with the entries the flush hook writes for changed objects: one
    "update" entry per (id, {attribute: (before, after)}), naming the attributes whose value changes. Several
    changes of one row stay several entries (as several flushes would log them)."""
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotSet(f"cannot update {model.__name__} with no tenant set")
    changes = [(row_id, {k: v for k, v in diff.items() if v[0] != v[1]}) for row_id, diff in changes]
    changes = [(row_id, diff) for row_id, diff in changes if diff]
    update_rows(
        model, tenant_id, [(row_id, {k: after for k, (_before, after) in diff.items()}) for row_id, diff in changes]
    )
    actor = current_actor()
    remote = request.remote_addr if has_request_context() else None
    entries = [
        _entry(
            tenant_id,
            actor,
            remote,
            "update",
            model.__tablename__,
            row_id,
            {
                k: [_logged(k, before), _logged(k, after)]
                for k, (before, after) in diff.items()
                if k not in SKIPPED_FIELDS
            },
        )
        for row_id, diff in changes
    ]
    _write_entries(entries)


def _write_entries(entries: list[dict]) -> None:
    insert_rows(AuditEntry, entries, returning=False)


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
