"""document_presign: what is refused before anything reaches storage, and what the presigned form allows."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from app.documents import services
from app.documents.services import DocumentError
from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.documents.conftest import DOCX, PDF, post_to_storage, presign
from tests.factories import producer_with_product

MB = 1024 * 1024


def _presign(app, tenant_id, producer_id, **overrides):
    values = dict(
        producer_id=producer_id,
        product_id=None,
        requirement="market_development",
        filename="ho-so.pdf",
        content_type=PDF,
        size=1000,
        uploaded_by=None,
    )
    values.update(overrides)
    with app.app_context(), tenant_scope(tenant_id):
        try:
            document, upload = services.document_presign(**values)
            db.session.commit()
            db.session.refresh(document)
            db.session.expunge(document)
            return document, upload
        finally:
            db.session.rollback()


@pytest.mark.parametrize(
    "content_type",
    ["text/html", "image/svg+xml", "application/octet-stream", "application/zip", "application/x-msdownload", "", None],
)
def test_types_outside_the_allowlist_are_refused(app, tenants, producer, content_type):
    with pytest.raises(DocumentError, match="Loại tệp không được chấp nhận.*PDF, JPEG, PNG, WebP, DOCX, XLSX"):
        _presign(app, tenants["bac-giang"], producer[0], content_type=content_type)


def test_aliases_and_parameters_of_allowed_types_are_normalised(app, tenants, producer):
    document, upload = _presign(app, tenants["bac-giang"], producer[0], content_type="image/JPG; charset=binary")
    assert document.content_type == "image/jpeg" and upload["fields"]["Content-Type"] == "image/jpeg"


def test_sizes_over_the_limit_and_empty_files_are_refused(app, tenants, producer):
    limit = app.config["UPLOAD_MAX_BYTES"]
    assert limit == 50 * MB
    with pytest.raises(DocumentError, match="Tệp quá lớn: tối đa 50 MB"):
        _presign(app, tenants["bac-giang"], producer[0], size=limit + 1)
    with pytest.raises(DocumentError, match="Tệp rỗng"):
        _presign(app, tenants["bac-giang"], producer[0], size=0)
    document, _upload = _presign(app, tenants["bac-giang"], producer[0], size=limit)
    assert document.declared_size == limit


def test_key_is_chosen_by_the_server_under_the_tenant_prefix(app, tenants, producer):
    tenant_id = tenants["bac-giang"]
    document, upload = _presign(app, tenant_id, producer[0], filename="../../x/../../ọ.pdf\x00\u202e")
    assert re.fullmatch(rf"tenants/{tenant_id}/documents/[0-9a-f-]{{36}}", document.storage_key)
    assert document.original_filename == "ọ.pdf"
    assert upload["fields"]["key"] == document.storage_key
    other, _ = _presign(app, tenant_id, producer[0], filename="ọ.pdf")
    assert other.storage_key != document.storage_key


def test_the_policy_pins_key_type_size_and_expiry(app, tenants, producer):
    document, upload = _presign(app, tenants["bac-giang"], producer[0], content_type=DOCX, size=12345)
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"key": document.storage_key} in conditions
    assert {"Content-Type": DOCX} in conditions
    assert ["content-length-range", 1, app.config["UPLOAD_MAX_BYTES"]] in conditions
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 14 * 60 < (expires - datetime.now(UTC)).total_seconds() <= 15 * 60


def test_the_product_must_belong_to_the_producer(app, tenants, producer):
    other_producer, other_product = producer_with_product(app, tenants["bac-giang"])
    with pytest.raises(DocumentError, match="Không tìm thấy sản phẩm"):
        _presign(app, tenants["bac-giang"], producer[0], product_id=other_product)
    # The product alone names its producer.
    document, _ = _presign(app, tenants["bac-giang"], None, product_id=other_product)
    assert (document.producer_id, document.product_id) == (other_producer, other_product)


def test_producers_and_products_of_another_tenant_do_not_exist(app, tenants):
    ha_tinh_producer, ha_tinh_product = producer_with_product(app, tenants["ha-tinh"])
    with pytest.raises(DocumentError, match="Không tìm thấy chủ thể"):
        _presign(app, tenants["bac-giang"], ha_tinh_producer)
    with pytest.raises(DocumentError, match="Không tìm thấy sản phẩm"):
        _presign(app, tenants["bac-giang"], None, product_id=ha_tinh_product)


def test_quota_exceeded_is_refused_at_presign(app, tenants):
    tenant_id = tenants["bac-kan"]
    producer_id, _product = producer_with_product(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        used = services.tenant_storage_used()
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(storage_quota_bytes=used + 3 * MB))
        db.session.commit()
    try:
        first, _ = _presign(app, tenant_id, producer_id, size=2 * MB)  # reserved while awaiting upload
        with pytest.raises(DocumentError, match="Vượt hạn mức lưu trữ của tỉnh"):
            _presign(app, tenant_id, producer_id, size=2 * MB)
        # A rejected document holds nothing.
        with app.app_context(), tenant_scope(tenant_id):
            db.session.execute(
                update(services.Document).where(services.Document.id == first.id).values(status="rejected")
            )
            db.session.commit()
        _presign(app, tenant_id, producer_id, size=2 * MB)
    finally:
        with app.app_context(), tenant_scope(tenant_id):  # a tenant row is updated in its own scope (RLS)
            db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(storage_quota_bytes=None))
            db.session.commit()


def test_platform_default_quota_applies_when_the_tenant_has_none(app, tenants, monkeypatch):
    tenant_id = tenants["nam-dinh"]
    producer_id, _product = producer_with_product(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        used = services.tenant_storage_used()
    monkeypatch.setitem(app.config, "STORAGE_QUOTA_BYTES", used + MB)
    with pytest.raises(DocumentError, match="Vượt hạn mức"):
        _presign(app, tenant_id, producer_id, size=MB + 1)
    _presign(app, tenant_id, producer_id, size=MB)


def test_presign_refused_leaves_nothing_behind(app, tenants, producer):
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        before = db.session.query(services.Document).count()
    with pytest.raises(DocumentError):
        _presign(app, tenants["bac-giang"], producer[0], content_type="text/html")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        assert db.session.query(services.Document).count() == before


def test_storage_answers_the_presigned_form(app, tenants, producer):
    document_id, upload = presign(app, tenants["bac-giang"], producer[0], b"%PDF-1.4 tiny", PDF)
    assert post_to_storage(upload, b"%PDF-1.4 tiny").status_code == 204
