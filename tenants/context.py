"""The current tenant (and the actor, for the audit log) of this request, job or command.

Context variables rather than flask.g so that the same code serves requests, RQ jobs and CLI commands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who is changing data: a tenant user, a national/platform account, or the system."""

    kind: str  # "user" | "account" | "system"
    id: int | None
    label: str


SYSTEM_ACTOR = Actor("system", None, "system")

_tenant_id: ContextVar[int | None] = ContextVar("tenant_id", default=None)
_system: ContextVar[bool] = ContextVar("system_scope", default=False)
_actor: ContextVar[Actor] = ContextVar("actor", default=SYSTEM_ACTOR)
# Called after every change of tenant; tenants/isolation.py registers the one that re-sets the tenant
# inside a database transaction that is already open (this module stays free of the database).
_tenant_change_listeners: list[Callable[[], None]] = []


def on_tenant_change(listener: Callable[[], None]) -> None:
    if listener not in _tenant_change_listeners:
        _tenant_change_listeners.append(listener)


def _tenant_changed() -> None:
    for listener in _tenant_change_listeners:
        listener()


class TenantNotSet(RuntimeError):
    """A tenant-scoped query or write ran with no tenant in context."""


class CrossTenantWrite(RuntimeError):
    """An object of one tenant was about to be written while another tenant is current."""


def current_tenant_id() -> int | None:
    return _tenant_id.get()


def in_system_scope() -> bool:
    return _system.get()


def current_actor() -> Actor:
    return _actor.get()


def set_tenant(tenant_id: int | None):
    """Set the tenant for the rest of this context; returns a token for reset_tenant()."""
    token = _tenant_id.set(tenant_id)
    _tenant_changed()
    return token


def reset_tenant(token) -> None:
    _tenant_id.reset(token)
    _tenant_changed()


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[int]:
    token = set_tenant(tenant_id)
    try:
        yield tenant_id
    finally:
        reset_tenant(token)


@contextmanager
def system_scope() -> Iterator[None]:
    """Explicit opt-out of the ORM tenant guard for system code (RLS still applies in the database)."""
    token = _system.set(True)
    try:
        yield
    finally:
        _system.reset(token)


def set_actor(actor: Actor):
    return _actor.set(actor)


def reset_actor(token) -> None:
    _actor.reset(token)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)
