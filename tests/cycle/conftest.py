"""Producers, products and cycles created directly through the services, per test."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.certification.services import certificate_record
from app.documents.models import Document
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from tenants.context import tenant_scope


def _set_id(code: str) -> int:
    return db.session.scalar(select(TaxonomyNode.id).where(TaxonomyNode.act == "148/QĐ-TTg", TaxonomyNode.code == code))


@pytest.fixture()
def make_product(app, tenants):
    """A producer with one product in the province; returns (producer_id, product_id)."""

    def _make(slug="bac-giang", *, set_code="I.1.1", stars=None):
        with app.app_context(), tenant_scope(tenants[slug]):
            producer = Producer(name=f"HTX Thử {uuid.uuid4().hex[:6]}", kind="htx")
            db.session.add(producer)
            db.session.flush()
            product = Product(
                producer_id=producer.id,
                name=f"Vải thiều {uuid.uuid4().hex[:6]}",
                product_set_id=_set_id(set_code),
            )
            db.session.add(product)
            if stars:  # certified 400 days ago, so valid through the tests' dates
                db.session.flush()
                certificate_record(
                    product, stars=stars, decision_number="1/QĐ-UBND", decision_date=date.today() - timedelta(days=400)
                )
            db.session.commit()
            return producer.id, product.id

    return _make


@pytest.fixture()
def producer_user(app, tenants):
    """A producer-role User object bound to a producer (detached, for service calls)."""
    from tests.conftest import create_user

    def _make(slug, producer_id):
        user_id, _email = create_user(app, tenants[slug], roles=("producer",), producer_id=producer_id)
        return user_id

    return _make


def accepted_document(producer_id, product_id, requirement, *, valid_until=None, created_at=None):
    """An accepted document row (verification itself is tested in tests/documents)."""
    document = Document(
        producer_id=producer_id,
        product_id=product_id,
        requirement=requirement,
        original_filename=f"{requirement}.pdf",
        content_type="application/pdf",
        declared_size=1000,
        size=1000,
        sha256="0" * 64,
        storage_key=f"test/{uuid.uuid4().hex}",
        status="accepted",
        valid_until=valid_until,
        verified_at=datetime.now(UTC),
    )
    if created_at is not None:
        document.created_at = created_at
    db.session.add(document)
    db.session.flush()
    return document


THIS_YEAR = date.today().year
