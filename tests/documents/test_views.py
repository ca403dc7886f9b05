"""The JSON endpoints and the download link, signed in, with CSRF, across producers and tenants."""

from __future__ import annotations

import re

import requests

from tests.conftest import csrf_token
from tests.documents.conftest import (
    HTML,
    PDF,
    load,
    pdf_bytes,
    post_to_storage,
    upload_and_confirm,
    work_documents_queue,
)
from tests.factories import producer_with_product


def _csrf(client, slug="bac-giang"):
    return csrf_token(client, f"/{slug}/account")


def _post_json(client, url, token, body=None):
    return client.post(
        url, json=body if body is not None else {}, headers={"X-CSRFToken": token, "Accept": "application/json"}
    )


def test_the_whole_flow_as_a_producer(app, tenants, producer, producer_login, documents_queue):
    producer_id, product_id = producer
    client = producer_login("bac-giang", producer_id)
    token = _csrf(client)
    data = pdf_bytes()
    response = _post_json(
        client,
        "/bac-giang/documents/presign",
        token,
        {
            "product_id": product_id,
            "requirement": "test_report",
            "filename": "Phiếu kiểm nghiệm.pdf",
            "content_type": PDF,
            "size": len(data),
            "title": "Phiếu kiểm nghiệm",
        },
    )
    assert response.status_code == 201, response.get_json()
    issued = response.get_json()
    document_id = issued["id"]
    assert issued["confirm_url"] == f"/bac-giang/documents/{document_id}/confirm"
    assert issued["status_url"] == f"/bac-giang/documents/{document_id}"
    assert post_to_storage(issued["upload"], data).status_code == 204

    response = _post_json(client, issued["confirm_url"], token)
    assert response.status_code == 202 and response.get_json()["status"] == "pending"
    assert documents_queue.job_ids == [f"verify-{tenants['bac-giang']}-{document_id}-1"]
    assert client.get(issued["status_url"]).get_json()["status"] == "pending"
    assert client.get(issued["download_url"]).status_code == 404  # not verified yet

    work_documents_queue(app)
    status = client.get(issued["status_url"])
    assert status.headers["Cache-Control"] == "no-store"
    body = status.get_json()
    assert body["status"] == "accepted" and body["producer_id"] == producer_id and body["product_id"] == product_id
    assert body["filename"] == "Phiếu kiểm nghiệm.pdf" and body["size"] == len(data)

    download = client.get(issued["download_url"])
    assert download.status_code == 302
    fetched = requests.get(download.headers["Location"], timeout=10)
    assert fetched.content == data and fetched.headers["Content-Disposition"].startswith("attachment;")


def test_the_app_refuses_what_it_must_with_a_message(app, tenants, producer, producer_login):
    client = producer_login("bac-giang", producer[0])
    token = _csrf(client)
    response = _post_json(
        client,
        "/bac-giang/documents/presign",
        token,
        {"requirement": "test_report", "filename": "x.html", "content_type": "text/html", "size": 10},
    )
    assert response.status_code == 400 and "Loại tệp không được chấp nhận" in response.get_json()["error"]
    response = client.post("/bac-giang/documents/presign", data="not json", headers={"X-CSRFToken": token})
    assert response.status_code == 400


def test_presign_needs_the_csrf_header(app, producer, producer_login):
    client = producer_login("bac-giang", producer[0])
    response = client.post("/bac-giang/documents/presign", json={"requirement": "test_report"})
    assert response.status_code == 400


def test_a_rejected_upload_shows_its_reason(app, tenants, producer, producer_login, documents_queue):
    client = producer_login("bac-giang", producer[0])
    document_id = upload_and_confirm(app, tenants["bac-giang"], producer[0], HTML, PDF, filename="bao-cao.pdf")
    work_documents_queue(app)
    body = client.get(f"/bac-giang/documents/{document_id}").get_json()
    assert body["status"] == "rejected" and body["reject_reason"] == "Tệp HTML/SVG không được chấp nhận"


def test_a_failed_confirm_says_why_and_keeps_the_document_waiting(app, tenants, producer, producer_login):
    client = producer_login("bac-giang", producer[0])
    token = _csrf(client)
    issued = _post_json(
        client,
        "/bac-giang/documents/presign",
        token,
        {"requirement": "test_report", "filename": "a.pdf", "content_type": PDF, "size": 100},
    ).get_json()
    response = _post_json(client, issued["confirm_url"], token)
    assert response.status_code == 409 and "Chưa nhận được tệp" in response.get_json()["error"]
    assert load(app, tenants["bac-giang"], issued["id"]).status == "awaiting_upload"


def _document_urls(document_id, slug="bac-giang"):
    base = f"/{slug}/documents/{document_id}"
    return [("POST", base + "/confirm"), ("GET", base), ("GET", base + "/download")]


def _answers(client, token, document_id):
    out = []
    for method, url in _document_urls(document_id):
        response = client.open(url, method=method, headers={"X-CSRFToken": token})
        body = response.get_data(as_text=True).replace(url, "<url>")
        out.append((response.status_code, re.sub(r'name="csrf_token"[^>]*>', "", body)))
    return out


def _assert_like_a_missing_id(client, token, document_id):
    answers = _answers(client, token, document_id)
    assert [status for status, _ in answers] == [404, 404, 404]
    assert answers == _answers(client, token, 10**12)


def test_another_tenants_document_is_exactly_like_a_missing_one(app, tenants, producer, producer_login):
    ha_tinh = tenants["ha-tinh"]
    ha_tinh_producer, _ = producer_with_product(app, ha_tinh)
    foreign = upload_and_confirm(app, ha_tinh, ha_tinh_producer, pdf_bytes(), PDF)
    client = producer_login("bac-giang", producer[0])
    token = _csrf(client)
    _assert_like_a_missing_id(client, token, foreign)
    # Even a Hà Tĩnh producer's own id under the Bắc Giang URL is only a missing id.
    assert load(app, ha_tinh, foreign).status == "pending"


def test_another_producers_document_in_the_same_tenant_is_a_404(app, tenants, producer, producer_login):
    tenant_id = tenants["bac-giang"]
    neighbour, neighbour_product = producer_with_product(app, tenant_id)
    theirs = upload_and_confirm(app, tenant_id, neighbour, pdf_bytes(), PDF)
    client = producer_login("bac-giang", producer[0])
    token = _csrf(client)
    _assert_like_a_missing_id(client, token, theirs)
    # Nor can they upload for that producer or its product.
    response = _post_json(
        client,
        "/bac-giang/documents/presign",
        token,
        {"producer_id": neighbour, "requirement": "test_report", "filename": "a.pdf", "content_type": PDF, "size": 10},
    )
    assert response.status_code == 404
    response = _post_json(
        client,
        "/bac-giang/documents/presign",
        token,
        {
            "product_id": neighbour_product,
            "requirement": "test_report",
            "filename": "a.pdf",
            "content_type": PDF,
            "size": 10,
        },
    )
    assert response.status_code == 400 and "Không tìm thấy sản phẩm" in response.get_json()["error"]


def test_staff_see_every_document_of_the_tenant(app, tenants, producer, officer_login, documents_queue):
    tenant_id = tenants["bac-giang"]
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    work_documents_queue(app)
    for roles in (("province_officer",), ("commune_officer",), ("province_admin",)):
        client, _uid, _email = officer_login("bac-giang", roles=roles)
        assert client.get(f"/bac-giang/documents/{document_id}").get_json()["status"] == "accepted"
        assert client.get(f"/bac-giang/documents/{document_id}/download").status_code == 302
    # …and upload for any producer of it.
    client, _uid, _email = officer_login("bac-giang")
    response = _post_json(
        client,
        "/bac-giang/documents/presign",
        _csrf(client),
        {
            "producer_id": producer[0],
            "requirement": "business_registration",
            "filename": "dkkd.pdf",
            "content_type": PDF,
            "size": 10,
        },
    )
    assert response.status_code == 201


def test_council_members_read_but_do_not_upload(app, tenants, producer, officer_login, documents_queue):
    document_id = upload_and_confirm(app, tenants["bac-giang"], producer[0], pdf_bytes(), PDF)
    client, _uid, _email = officer_login("bac-giang", roles=("council_member",))
    assert client.get(f"/bac-giang/documents/{document_id}").status_code == 200
    token = _csrf(client)
    assert _post_json(client, f"/bac-giang/documents/{document_id}/confirm", token).status_code == 403
    assert _post_json(client, "/bac-giang/documents/presign", token, {}).status_code == 403


def test_anonymous_requests_go_to_the_login(client, producer, app, tenants):
    document_id = upload_and_confirm(app, tenants["bac-giang"], producer[0], pdf_bytes(), PDF)
    response = client.get(f"/bac-giang/documents/{document_id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/bac-giang/login")


def test_the_upload_macro_renders_a_form_for_upload_js(app, tenants, producer, producer_login):
    from flask import render_template_string

    client = producer_login("bac-giang", producer[0])
    client.get("/bac-giang/account")  # a session with its CSRF token
    with app.test_request_context("/bac-giang/account"):
        from flask import g

        from tenants.resolution import tenant_by_slug

        g.tenant = tenant_by_slug("bac-giang")
        html = render_template_string(
            '{% from "documents/_upload.html" import upload_form %}{{ upload_form("test_report", product_id=7) }}'
        )
    assert "data-upload" in html and 'data-presign-url="/bac-giang/documents/presign"' in html
    assert 'name="product_id" value="7"' in html and 'name="requirement" value="test_report"' in html
    assert 'name="csrf_token"' in html and 'src="/static/js/upload.js"' in html and "<script>" not in html
    assert 'data-max-bytes="52428800"' in html
