"""Resolve the tenant once per request from the /<tenant_slug>/ URL prefix."""

from __future__ import annotations

from flask import Blueprint, abort, g
from sqlalchemy import String, cast, func, select

from app.extensions import db
from tenants.context import reset_tenant, set_tenant
from tenants.isolation import tenant_set_in_transaction
from tenants.models import Tenant

TENANT_PREFIX = "/<tenant_slug>"


def tenant_by_slug(slug: str) -> Tenant | None:
    if "\x00" in slug:  # /bac-giang%00/… names no province (and PostgreSQL text cannot hold NUL)
        return None
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.is_active.is_(True)))


def _tenant_and_setting(slug: str) -> Tenant | None:
    """The tenant, and app.tenant_id set for this transaction by the same statement (one round trip)."""
    if "\x00" in slug:  # /bac-giang%00/… names no province (and PostgreSQL text cannot hold NUL)
        return None
    row = db.session.execute(
        select(Tenant, func.set_config("app.tenant_id", cast(Tenant.id, String), True)).where(
            Tenant.slug == slug, Tenant.is_active.is_(True)
        )
    ).first()
    if row is None:
        return None
    tenant_set_in_transaction(db.session(), row[0].id)
    return row[0]


def _pull_tenant(endpoint, values) -> None:
    if values is None or "tenant_slug" not in values:
        return
    if g.get("served_from_cache"):  # a kept page answers this request (app/auth/page_cache.py): no database
        values.pop("tenant_slug")
        return
    tenant = _tenant_and_setting(values.pop("tenant_slug"))
    if tenant is None:
        abort(404)
    g.area = "tenant"
    g.tenant = tenant
    g.tenant_token = set_tenant(tenant.id)


def _push_tenant(endpoint, values) -> None:
    tenant = g.get("tenant")
    if tenant is not None and "tenant_slug" not in values:
        values["tenant_slug"] = tenant.slug


def tenant_blueprint(name: str, import_name: str, **kwargs) -> Blueprint:
    """A blueprint whose every route lives under /<tenant_slug>/ and runs in that tenant."""
    bp = Blueprint(name, import_name, url_prefix=TENANT_PREFIX + kwargs.pop("url_prefix", ""), **kwargs)
    bp.url_value_preprocessor(_pull_tenant)
    bp.url_defaults(_push_tenant)
    return bp


def release_tenant(exc=None) -> None:
    """Teardown: the next request on this thread starts with no tenant.

    The request's session ends first (what it did not commit is rolled back, as Flask-SQLAlchemy would a
    moment later), so clearing the tenant needs no statement in a transaction nobody will use again."""
    token = g.pop("tenant_token", None)
    if token is not None:
        db.session.remove()
        reset_tenant(token)
