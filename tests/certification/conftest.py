"""A product per test, made directly (no certificate), and a helper to record certificates in a tenant."""

from __future__ import annotations

import uuid

import pytest

from app.extensions import db
from app.registry.models import Producer, Product
from tenants.context import tenant_scope


@pytest.fixture()
def new_product(app, tenants):
    """A producer with one product in the province; returns the product id."""

    def _make(slug="bac-giang", name=None):
        with app.app_context(), tenant_scope(tenants[slug]):
            producer = Producer(name=f"HTX Thử {uuid.uuid4().hex[:6]}", kind="htx")
            db.session.add(producer)
            db.session.flush()
            product = Product(producer_id=producer.id, name=name or f"Vải thiều {uuid.uuid4().hex[:6]}")
            db.session.add(product)
            db.session.commit()
            return product.id

    return _make


@pytest.fixture()
def in_tenant(app, tenants):
    """Run a block inside an app context and the tenant (commit is the caller's)."""

    def _enter(slug="bac-giang"):
        from contextlib import ExitStack

        stack = ExitStack()
        stack.enter_context(app.app_context())
        stack.enter_context(tenant_scope(tenants[slug]))
        return stack

    return _enter
