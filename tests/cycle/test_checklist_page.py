"""The dossier checklist on the application page: distinct badges, "x / N", image formats on photo rows,
several photos at once, a file taken back before acceptance, the commune's own slot, and the missing-idea
error under the idea."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.cycle.checklist import requirements_for
from app.documents.models import Document
from app.documents.services import DocumentError, document_remove
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import csrf_token, login
from tests.factories import DocumentFactory, ProductFactory, application_at, user_of_role


def _client(app, slug, tenant_id, *roles, **extra):
    _uid, email = user_of_role(app, tenant_id, *roles, **extra)
    client = app.test_client()
    assert login(client, f"/{slug}/login", email).status_code == 302
    return client


def _row(page: str, code: str) -> str:
    match = re.search(rf'<tr [^>]*data-testid="req-{code}".*?</tr>', page, re.S)
    assert match, code
    return match.group(0)


@pytest.fixture()
def dossier(app, fresh_tenant):
    """An application preparing its dossier in a province under 1489 (which has the commune's report), with
    one accepted, one rejected and one pending document."""
    tenant_id, slug = fresh_tenant
    ids = application_at(app, tenant_id, "preparing_dossier")
    with app.app_context(), tenant_scope(tenant_id):
        docs = {}
        for code, status in (
            ("business_registration", "accepted"),
            ("test_report", "rejected"),
            ("trademark", "pending"),
        ):
            document = DocumentFactory(producer_id=ids.producer_id, product_id=ids.product_id, requirement=code)
            document.status = status
            document.reject_reason = "Tệp rỗng" if status == "rejected" else None
            docs[code] = document
        db.session.commit()
        docs = {code: d.id for code, d in docs.items()}
        required = [r for r in requirements_for("1489/QĐ-TTg", "new", "I") if r.required]
    return {"tenant": tenant_id, "slug": slug, "ids": ids, "docs": docs, "required": required}


def test_badges_count_and_photo_row(app, dossier):
    d = dossier
    client = _client(app, d["slug"], d["tenant"], "producer", producer_id=d["ids"].producer_id)
    page = client.get(f"/{d['slug']}/applications/{d['ids'].application_id}").get_data(as_text=True)
    total = len(d["required"])
    done = sum(r.code == "business_registration" for r in d["required"])
    assert re.search(rf"<strong data-checklist-done>{done}</strong> / <span data-checklist-total>{total}</span>", page)
    assert 'class="tag tag-accepted"' in _row(page, "business_registration")
    rejected = _row(page, "test_report")
    assert 'class="tag tag-rejected"' in rejected and "Tệp rỗng" in rejected
    assert 'class="tag tag-pending"' in _row(page, "trademark")
    photos = _row(page, "product_samples")
    assert 'class="tag tag-missing"' in photos and " multiple" in photos
    assert "JPEG, PNG hoặc WebP; tối đa" in photos and "PDF" not in photos.split("upload-hint")[1][:120]
    # A file not yet accepted can be taken back (and another one chosen); an accepted one cannot.
    assert 'data-testid="remove-test_report"' in rejected and "remove-business_registration" not in page
    assert "Chọn tệp khác thay thế" in rejected
    # The commune's report is the commune's to upload: no slot for the producer.
    assert "do xã/phường tải lên" in _row(page, "commune_assessment")
    assert "upload-commune_assessment" not in page


def test_a_file_is_removed_before_acceptance_only(app, dossier):
    d = dossier
    client = _client(app, d["slug"], d["tenant"], "producer", producer_id=d["ids"].producer_id)
    url = f"/{d['slug']}/applications/{d['ids'].application_id}"
    token = csrf_token(client, url)
    response = client.post(f"{url}/documents/{d['docs']['test_report']}/remove", data={"csrf_token": token})
    assert response.status_code == 302
    refused = client.post(f"{url}/documents/{d['docs']['business_registration']}/remove", data={"csrf_token": token})
    assert refused.status_code == 302 and "không xóa được" in client.get(url).get_data(as_text=True)
    with app.app_context(), tenant_scope(d["tenant"]):
        remaining = set(db.session.scalars(select(Document.id).where(Document.producer_id == d["ids"].producer_id)))
        assert remaining == {d["docs"]["business_registration"], d["docs"]["trademark"]}
        # The service refuses an accepted one too.
        producer = db.session.scalar(select(User).where(User.producer_id == d["ids"].producer_id).limit(1))
        with pytest.raises(DocumentError, match="không xóa được"):
            document_remove(producer, d["docs"]["business_registration"])
        db.session.rollback()
        assert (
            db.session.scalar(
                select(func.count()).select_from(Document).where(Document.id == d["docs"]["business_registration"])
            )
            == 1
        )


def test_the_commune_uploads_its_assessment(app, dossier):
    d = dossier
    client = _client(app, d["slug"], d["tenant"], "province_officer")
    page = client.get(f"/{d['slug']}/applications/{d['ids'].application_id}").get_data(as_text=True)
    assert "upload-commune_assessment" in _row(page, "commune_assessment")


def test_the_missing_idea_is_marked_on_the_idea_field(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    ids = application_at(app, tenant_id, "idea_submitted")
    with app.app_context(), tenant_scope(tenant_id):
        product = ProductFactory(producer_id=ids.producer_id)
        db.session.commit()
        product_id = product.id
    client = _client(app, slug, tenant_id, "producer", producer_id=ids.producer_id)
    url = f"/{slug}/applications/new"
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, url), "product_id": str(product_id), "kind": "new", "idea_summary": ""},
    )
    page = response.get_data(as_text=True)
    field = re.search(r'<div class="field[^"]*has-error[^"]*">.*?</div>', page, re.S)
    assert field and 'name="idea_summary"' in field.group(0) and "Hãy mô tả ý tưởng sản phẩm." in field.group(0)


def test_in_english_the_rejection_reason_is_english(app, dossier):
    d = dossier
    client = _client(app, d["slug"], d["tenant"], "producer", producer_id=d["ids"].producer_id)
    url = f"/{d['slug']}/applications/{d['ids'].application_id}"
    client.post(f"/{d['slug']}/lang/en", data={"csrf_token": csrf_token(client, url), "next": url})
    rejected = _row(client.get(url).get_data(as_text=True), "test_report")
    assert "The file is empty" in rejected and "Tệp rỗng" not in rejected
