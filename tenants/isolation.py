"""Tenant isolation in the ORM and on every database transaction.

Three hooks on every SQLAlchemy session:
- after_begin: `set_config('app.tenant_id', …, true)` so PostgreSQL RLS sees the tenant of this
  transaction only (a session-level SET would leak through the connection pool);
- do_orm_execute: adds `tenant_id = current` to every ORM select/update/delete of a tenant-scoped
  model, and refuses to run one when no tenant is set (system code opts out explicitly);
- before_flush: stamps tenant_id on new rows and refuses writes to rows of another tenant.
"""

from __future__ import annotations

import functools

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session, with_loader_criteria
from sqlalchemy.sql.util import find_tables

from app.extensions import db
from tenants.context import (
    CrossTenantWrite,
    TenantNotSet,
    current_tenant_id,
    in_system_scope,
    on_tenant_change,
)
from tenants.models import TenantScoped

SET_TENANT_SQL = text("SELECT set_config('app.tenant_id', :tenant_id, true)")


def _tenant_setting(tenant_id: int | None) -> str:
    return "" if tenant_id is None else str(tenant_id)


# session.info key: the app.tenant_id this session's open transaction holds ("" = none). Lets the hooks
# skip a set_config that would change nothing: one round trip less per transaction and per request.
SETTING = "app_tenant_setting"


def _on_begin(session: Session, transaction, connection) -> None:
    setting = _tenant_setting(current_tenant_id())
    # A transaction-local setting ends with its transaction and nothing sets it per connection, so a
    # new transaction starts with no tenant: only a tenant needs a statement.
    if setting:
        connection.execute(SET_TENANT_SQL, {"tenant_id": setting})
    session.info[SETTING] = setting


def tenant_set_in_transaction(session: Session, tenant_id: int) -> None:
    """The open transaction already holds this tenant (set by the statement that looked it up)."""
    session.info[SETTING] = _tenant_setting(tenant_id)


def apply_tenant_to_open_transaction() -> None:
    """Re-set app.tenant_id inside a transaction that began before the tenant changed."""
    try:
        session = db.session()
    except RuntimeError:  # no application context: nothing is open
        return
    transaction = session.get_transaction()
    # A transaction that failed is rolled back by its owner; touching it would hide the error.
    if transaction is not None and transaction.is_active:
        setting = _tenant_setting(current_tenant_id())
        if session.info.get(SETTING) == setting:
            return
        # One database per app: session.connection() is the transaction's connection.
        session.connection().execute(SET_TENANT_SQL, {"tenant_id": setting})
        session.info[SETTING] = setting


@functools.cache
def _tenant_tables() -> frozenset:
    return frozenset(
        mapper.local_table for mapper in db.Model.registry.mappers if issubclass(mapper.class_, TenantScoped)
    )


def _touches_tenant_data(state) -> bool:
    """Any tenant table anywhere in the statement: entities, select_from, joins, subqueries."""
    if any(issubclass(mapper.class_, TenantScoped) for mapper in state.all_mappers):
        return True
    tenant_tables = _tenant_tables()
    return any(
        table in tenant_tables for table in find_tables(state.statement, include_joins=True, include_aliases=True)
    )


def _add_tenant_criteria(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Column and relationship loads inherit the criteria of the statement that loaded the parent.
    if state.is_column_load or state.is_relationship_load:
        return
    if not _touches_tenant_data(state):
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        if in_system_scope():
            return
        raise TenantNotSet("tenant-scoped query with no tenant set")
    state.statement = state.statement.options(_tenant_criteria(tenant_id))


@functools.lru_cache(maxsize=1024)
def _tenant_criteria(tenant_id: int):
    """One criteria option per tenant, built once: building it (and analysing its lambda) on every
    statement was most of the hook's cost, and an equal option keeps SQLAlchemy's compiled cache warm."""
    return with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)


def _guard_flush(session: Session, flush_context, instances) -> None:
    tenant_id = current_tenant_id()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise TenantNotSet(f"cannot insert {type(obj).__name__} with no tenant set")
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        elif obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} belongs to tenant {obj.tenant_id}")
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        history = inspect(obj).attrs.tenant_id.history
        original = history.deleted[0] if history.deleted else obj.tenant_id
        if history.has_changes() or original != tenant_id:
            raise CrossTenantWrite(f"{type(obj).__name__} of tenant {original} cannot be changed here")


def install_isolation_hooks() -> None:
    """Register the hooks once per process (they apply to every Session)."""
    on_tenant_change(apply_tenant_to_open_transaction)
    if event.contains(Session, "after_begin", _on_begin):
        return
    event.listen(Session, "after_begin", _on_begin)
    event.listen(Session, "do_orm_execute", _add_tenant_criteria)
    event.listen(Session, "before_flush", _guard_flush)
