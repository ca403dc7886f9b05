"""The presigned form is enforced by storage itself (SeaweedFS, a real S3 server), not by the app."""

from __future__ import annotations

import pytest
import requests

from app.documents.services import DocumentError
from tests.documents.conftest import PDF, confirm, load, post_to_storage, presign, stored_bytes

BODY = b"%PDF-1.4\n% evidence\n%%EOF\n"


def test_an_upload_over_the_size_limit_is_refused_by_storage(app, tenants, producer, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 4096)
    tenant_id = tenants["bac-giang"]
    document_id, upload = presign(app, tenant_id, producer[0], BODY, PDF)
    response = post_to_storage(upload, b"%PDF-1.4\n" + b"0" * 4096)
    assert response.status_code == 400 and "EntityTooLarge" in response.text
    assert stored_bytes(app, load(app, tenant_id, document_id).storage_key) is None


def test_an_empty_upload_is_refused_by_storage(app, tenants, producer):
    _document_id, upload = presign(app, tenants["bac-giang"], producer[0], BODY, PDF)
    response = post_to_storage(upload, b"")
    assert response.status_code == 400 and "EntityTooSmall" in response.text


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/pdf; charset=utf-8"])
def test_another_content_type_is_refused_by_storage(app, tenants, producer, content_type):
    tenant_id = tenants["bac-giang"]
    document_id, upload = presign(app, tenant_id, producer[0], BODY, PDF)
    response = post_to_storage(upload, BODY, fields={"Content-Type": content_type}, part_type=content_type)
    assert response.status_code == 403 and "Policy" in response.text
    assert stored_bytes(app, load(app, tenant_id, document_id).storage_key) is None


def test_a_key_that_was_not_issued_is_refused_by_storage(app, tenants, producer):
    bac_giang, ha_tinh = tenants["bac-giang"], tenants["ha-tinh"]
    document_id, upload = presign(app, bac_giang, producer[0], BODY, PDF)
    issued = upload["fields"]["key"]
    for key in (
        f"tenants/{bac_giang}/documents/chosen-by-me",
        f"tenants/{ha_tinh}/documents/x",
        issued + "-2",
        "index.html",
    ):
        response = post_to_storage(upload, BODY, fields={"key": key})
        assert response.status_code == 403, key
        assert stored_bytes(app, key) is None
    assert stored_bytes(app, issued) is None


def test_fields_outside_the_policy_are_refused_by_storage(app, tenants, producer):
    """So nobody can set our verification stamp (x-amz-meta-ocop-sha256) on an object of their own.

    (SeaweedFS lets some standard fields through, e.g. Content-Disposition; downloads override it.)
    """
    _document_id, upload = presign(app, tenants["bac-giang"], producer[0], BODY, PDF)
    for extra in ({"x-amz-meta-ocop-sha256": "0" * 64}, {"X-Amz-Meta-Anything": "x"}):
        assert post_to_storage(upload, BODY, fields=extra).status_code == 403, extra


def test_uploaded_objects_are_not_readable_without_a_signature(app, tenants, producer):
    _document_id, upload = presign(app, tenants["bac-giang"], producer[0], BODY, PDF)
    # SeaweedFS ignores an `acl` field; whatever it is, the object stays private.
    assert post_to_storage(upload, BODY, fields={"acl": "public-read"}).status_code == 204
    response = requests.get(f"{upload['url']}/{upload['fields']['key']}", timeout=10)
    assert response.status_code == 403 and BODY not in response.content


def test_confirm_checks_that_the_object_is_there_with_the_declared_size(app, tenants, producer):
    tenant_id = tenants["bac-giang"]
    document_id, upload = presign(app, tenant_id, producer[0], BODY, PDF)
    with pytest.raises(DocumentError, match="Chưa nhận được tệp"):
        confirm(app, tenant_id, document_id)
    assert load(app, tenant_id, document_id).status == "awaiting_upload"

    # Declared 27 bytes, sent more (within the size limit): not what was counted against the quota.
    assert post_to_storage(upload, BODY + b"extra bytes").status_code == 204
    with pytest.raises(DocumentError, match="không khớp"):
        confirm(app, tenant_id, document_id)
    document = load(app, tenant_id, document_id)
    assert document.status == "awaiting_upload" and stored_bytes(app, document.storage_key) is None

    # The same form, still valid, with the right file.
    assert post_to_storage(upload, BODY).status_code == 204
    assert confirm(app, tenant_id, document_id) == "pending"
    assert confirm(app, tenant_id, document_id) == "pending"  # idempotent: nothing queued twice
    document = load(app, tenant_id, document_id)
    assert document.size == len(BODY) and document.verify_attempts == 1 and document.confirmed_at is not None
