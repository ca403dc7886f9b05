"""Issue 12, item 1: replaying the presigned form after acceptance never changes what is served.

The form stays valid for 15 minutes; the verified bytes live under a key no form covers."""

from __future__ import annotations

import pytest
import requests

from app.documents import services
from app.documents.jobs import verify_document
from app.documents.services import VERIFIED_SHA256_META
from tenants.context import tenant_scope
from tests.documents.conftest import HTML, PDF, confirm, load, pdf_bytes, post_to_storage, presign, sha256, stored_bytes


@pytest.mark.parametrize("with_stamp", [False, True], ids=["plain-replay", "replay-with-sha-header"])
def test_a_replayed_upload_after_acceptance_is_never_served(app, tenants, producer, with_stamp):
    tenant_id = tenants["bac-giang"]
    data = pdf_bytes()
    document_id, upload = presign(app, tenant_id, producer[0], data, PDF)
    assert post_to_storage(upload, data).status_code == 204
    confirm(app, tenant_id, document_id)
    with app.app_context():
        assert verify_document(tenant_id, document_id) == "accepted"
    document = load(app, tenant_id, document_id)

    swapped = b"%PDF-1.4\n" + HTML.ljust(len(data) - 9, b" ")
    assert len(swapped) == len(data)
    # The stamp sent as a request header (storage keeps it as metadata) or as a form field (refused).
    headers = {"X-Amz-Meta-Ocop-Sha256": sha256(data)} if with_stamp else {}
    replay = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("x.pdf", swapped, PDF)}, headers=headers, timeout=60
    )
    assert replay.status_code == 204
    if with_stamp:
        assert post_to_storage(upload, swapped, fields=headers).status_code == 403
    assert stored_bytes(app, document.verified_key) == data

    with app.app_context(), tenant_scope(tenant_id):
        url = services.document_download_url(load(app, tenant_id, document_id))
    served = requests.get(url, timeout=10)
    assert served.status_code == 200 and served.content == data and swapped != data
    with app.app_context():
        from app.core.storage import s3_client

        head = s3_client().head_object(Bucket=app.config["S3_BUCKET"], Key=document.verified_key)
    assert head["Metadata"] == {VERIFIED_SHA256_META: sha256(data)}


def test_no_form_can_write_the_verified_key(app, tenants, producer):
    tenant_id = tenants["bac-giang"]
    data = pdf_bytes()
    document_id, upload = presign(app, tenant_id, producer[0], data, PDF)
    target = load(app, tenant_id, document_id).verified_key
    assert post_to_storage(upload, data, fields={"key": target}).status_code == 403
    assert stored_bytes(app, target) is None
