"""Issue 12, item 5: one producer cannot exhaust the province's storage quota with presigns it never uses.

Presigns are rate limited per user, a user may hold only so many unconfirmed forms, and an unconfirmed
presign reserves its declared size only while its form is valid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.core import clock
from app.documents import services
from app.documents.models import Document
from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.conftest import csrf_token
from tests.factories import producer_with_product, signed_in, user_of_role

MIB = 1024 * 1024


def _presign(app, tenant_id, producer_id, size, uploaded_by=None):
    with app.app_context(), tenant_scope(tenant_id):
        document, _upload = services.document_presign(
            producer_id=producer_id,
            product_id=None,
            requirement="market_development",
            filename="a.pdf",
            content_type="application/pdf",
            size=size,
            uploaded_by=uploaded_by,
        )
        db.session.commit()
        return document.id


def _age(app, tenant_id, seconds):
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(
            update(Document)
            .where(Document.status == "awaiting_upload")
            .values(created_at=clock.now() - timedelta(seconds=seconds))
        )
        db.session.commit()


def test_abandoned_presigns_stop_counting_when_their_form_expires(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(storage_quota_bytes=100 * MIB))
        db.session.commit()
    producer_id, _product = producer_with_product(app, tenant_id)
    for _ in range(2):
        _presign(app, tenant_id, producer_id, 50 * MIB)  # declared, never uploaded
    with pytest.raises(services.DocumentError, match="Vượt hạn mức"):
        _presign(app, tenant_id, producer_id, 1 * MIB)  # while their forms are valid, they are reserved
    _age(app, tenant_id, services.PRESIGN_EXPIRES_SECONDS + 1)
    with app.app_context(), tenant_scope(tenant_id):
        assert services.tenant_storage_used() == 0
    assert _presign(app, tenant_id, producer_id, 50 * MIB)


def test_one_user_holds_a_bounded_number_of_unconfirmed_presigns(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    producer_id, _product = producer_with_product(app, tenant_id)
    user_id, _email = user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    limit = app.config["PRESIGN_OPEN_PER_USER"]
    for _ in range(limit):
        _presign(app, tenant_id, producer_id, 1024, uploaded_by=user_id)
    with pytest.raises(services.DocumentError, match="quá nhiều tệp đang chờ"):
        _presign(app, tenant_id, producer_id, 1024, uploaded_by=user_id)
    assert _presign(app, tenant_id, producer_id, 1024, uploaded_by=None)  # another uploader is not blocked
    _age(app, tenant_id, services.PRESIGN_EXPIRES_SECONDS + 1)
    assert _presign(app, tenant_id, producer_id, 1024, uploaded_by=user_id)


def test_presigns_are_rate_limited_per_user(app, fresh_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "PRESIGN_OPEN_PER_USER", 1000)
    tenant_id, slug = fresh_tenant
    producer_id, _product = producer_with_product(app, tenant_id)
    _user_id, email = user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    client = signed_in(app, slug, email)
    token = csrf_token(client, f"/{slug}/account")
    body = {"requirement": "market_development", "filename": "a.pdf", "content_type": "application/pdf", "size": 10}
    limit = int(app.config["PRESIGN_RATE_LIMIT"].split()[0])
    answers = [
        client.post(f"/{slug}/documents/presign", json=body, headers={"X-CSRFToken": token}).status_code
        for _ in range(limit + 1)
    ]
    assert answers == [201] * limit + [429]
    # Another producer of the province is not affected.
    other_producer, _ = producer_with_product(app, tenant_id)
    _other_id, other_email = user_of_role(app, tenant_id, "producer", producer_id=other_producer)
    other = signed_in(app, slug, other_email)
    other_token = csrf_token(other, f"/{slug}/account")
    assert other.post(f"/{slug}/documents/presign", json=body, headers={"X-CSRFToken": other_token}).status_code == 201
