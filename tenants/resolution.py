"""Resolve the tenant once per request from the /<tenant_slug>/ URL prefix."""

from __future__ import annotations

from flask import Blueprint, abort, g
from sqlalchemy import select

from app.extensions import db
from tenants.context import reset_tenant, set_tenant
from tenants.models import Tenant

TENANT_PREFIX = "/<tenant_slug>"


def tenant_by_slug(slug: str) -> Tenant | None:
    if "\x00" in slug:  # /bac-giang%00/… names no province (and PostgreSQL text cannot hold NUL)
        return None
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug, Tenant.is_active.is_(True)))


def _pull_tenant(endpoint, values) -> None:
    if values is None or "tenant_slug" not in values:
        return
    tenant = tenant_by_slug(values.pop("tenant_slug"))
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
    """Teardown: the next request on this thread starts with no tenant."""
    token = g.pop("tenant_token", None)
    if token is not None:
        reset_tenant(token)
