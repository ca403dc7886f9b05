"""The registry and cycle pages as officers and producers use them."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

from openpyxl import load_workbook

from app.core import clock
from tests.conftest import create_user, csrf_token, login, open_cycle_around_today
from tests.factories import producer_with_product, product_set_id


def test_officer_registers_producer_and_product_then_finds_them_without_diacritics(app, tenants, officer_login):
    officer, _uid, _email = officer_login("bac-giang")
    token = csrf_token(officer, "/bac-giang/producers/new")
    response = officer.post(
        "/bac-giang/producers/new",
        data={
            "csrf_token": token,
            "name": "HTX Nông nghiệp Hồng Giang Lục Ngạn",
            "kind": "htx",
            "registration_no": "BG-HTX-0001-" + token[:4],
            "representative": "Nguyễn Văn Điền",
            "unit_id": "0",
        },
    )
    assert response.status_code == 302
    producer_url = response.headers["Location"]
    producer_id = int(producer_url.rstrip("/").split("/")[-1])
    with app.app_context():
        set_id = product_set_id("I.1.1")
    token = csrf_token(officer, "/bac-giang/products/new")
    response = officer.post(
        "/bac-giang/products/new",
        data={
            "csrf_token": token,
            "name": "Vải thiều Hồng Giang",
            "producer_id": str(producer_id),
            "product_set_id": str(set_id),
            "unit_id": "0",
            "trademark_status": "geographical_indication",
            "export_countries": "Nhật Bản, Úc",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    # Its stars come from a certificate entered by hand (decided a year ago, valid 36 months).
    product_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    new_certificate = f"/bac-giang/products/{product_id}/certificates/new"
    decided = (clock.today() - timedelta(days=365)).strftime("%d/%m/%Y")
    response = officer.post(
        new_certificate,
        data={
            "csrf_token": csrf_token(officer, new_certificate),
            "stars": "4",
            "decision_number": "12/QĐ-UBND",
            "decision_date": decided,
            "authority": "",
            "kind": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert "Vải thiều Hồng Giang" in officer.get(producer_url).get_data(as_text=True)
    assert "HTX Nông nghiệp Hồng Giang" in officer.get("/bac-giang/producers?q=hong+giang+luc+ngan").get_data(
        as_text=True
    )
    assert "Vải thiều Hồng Giang" in officer.get("/bac-giang/products?q=vai+thieu").get_data(as_text=True)
    rows = list(
        load_workbook(BytesIO(officer.get("/bac-giang/products/export.xlsx?q=vai+thieu+hong").data)).active.iter_rows(
            values_only=True
        )
    )
    exported = dict(zip(rows[0], rows[1], strict=True))  # the import template's layout
    assert exported["Tên sản phẩm*"] == "Vải thiều Hồng Giang" and exported["Số sao hiện có"] == 4
    assert exported["Nước xuất khẩu"] == "Nhật Bản, Úc"


def test_producer_registers_idea_officer_returns_it_and_the_portal_shows_why(app, tenants, officer_login):
    slug = "ha-tinh"
    open_cycle_around_today(app, tenants[slug])
    producer_id, _product_id = producer_with_product(app, tenants[slug], name="Cam bù Hương Sơn")
    _other, other_product_id = producer_with_product(app, tenants[slug], name="Kẹo cu đơ")
    _uid, email = create_user(app, tenants[slug], roles=("producer",), producer_id=producer_id)
    client = app.test_client()
    assert login(client, f"/{slug}/login", email).headers["Location"] == f"/{slug}/"
    assert client.get(f"/{slug}/").headers["Location"] == f"/{slug}/portal/"
    page = client.get(f"/{slug}/applications/new").get_data(as_text=True)
    assert "Cam bù Hương Sơn" in page and "Kẹo cu đơ" not in page  # only their own products
    product_id = int(re.search(r'<option value="(\d+)">Cam bù Hương Sơn', page).group(1))
    response = client.post(
        f"/{slug}/applications/new",
        data={
            "csrf_token": csrf_token(client, f"/{slug}/applications/new"),
            "product_id": str(product_id),
            "kind": "new",
            "idea_summary": "Cam bù sấy dẻo",
            "target_stars": "0",
        },
    )
    assert response.status_code == 302
    application_url = response.headers["Location"]
    assert "Đã gửi ý tưởng" in client.get(application_url).get_data(as_text=True)
    # Another producer's product cannot be registered by id either.
    response = client.post(
        f"/{slug}/applications/new",
        data={
            "csrf_token": csrf_token(client, f"/{slug}/applications/new"),
            "product_id": str(other_product_id),
            "kind": "new",
            "idea_summary": "x",
            "target_stars": "0",
        },
    )
    assert response.status_code == 200

    officer, _oid, _oemail = officer_login(slug)
    application_id = application_url.rstrip("/").split("/")[-1]
    token = csrf_token(officer, application_url)
    officer.post(
        f"/{slug}/applications/{application_id}/act/return_idea",
        data={"csrf_token": token, "reason": "Nêu rõ vùng nguyên liệu"},
    )
    portal = client.get(f"/{slug}/portal/").get_data(as_text=True)
    assert "Ý tưởng bị trả lại" in portal and "Nêu rõ vùng nguyên liệu" in portal
    pipeline = officer.get(f"/{slug}/applications?q=cam+bu").get_data(as_text=True)
    assert "Cam bù Hương Sơn" in pipeline
    export = officer.get(f"/{slug}/applications/export.xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"


def test_a_producer_cannot_open_another_producers_application(app, tenants, officer_login):
    slug = "nam-dinh"
    open_cycle_around_today(app, tenants[slug])
    producer_a_id, _product_a = producer_with_product(app, tenants[slug], name="Sản phẩm Cơ sở A")
    producer_b_id, product_b = producer_with_product(app, tenants[slug], name="Sản phẩm Cơ sở B")
    officer, _uid, _email = officer_login(slug)
    response = officer.post(
        f"/{slug}/applications/new",
        data={
            "csrf_token": csrf_token(officer, f"/{slug}/applications/new"),
            "product_id": str(product_b),
            "kind": "new",
            "idea_summary": "Ý tưởng B",
            "target_stars": "0",
        },
    )
    application_url = response.headers["Location"]
    _uid, email = create_user(app, tenants[slug], roles=("producer",), producer_id=producer_a_id)
    producer_a = app.test_client()
    login(producer_a, f"/{slug}/login", email)
    assert producer_a.get(application_url).status_code == 404
    assert "Sản phẩm Cơ sở B" not in producer_a.get(f"/{slug}/applications").get_data(as_text=True)
    assert producer_a.get(f"/{slug}/producers/{producer_b_id}").status_code in (403, 404)


def test_product_page_shows_details_and_takes_photos(app, tenants, officer_login):
    _producer_id, product_id = producer_with_product(
        app, tenants["bac-giang"], name="Gà đồi Yên Thế", export_countries=["Lào"], trademark_status="collective"
    )
    officer, _uid, _email = officer_login("bac-giang")
    page = officer.get(f"/bac-giang/products/{product_id}").get_data(as_text=True)
    assert "Gà đồi Yên Thế" in page and "Nhãn hiệu tập thể" in page and "Lào" in page
    assert 'name="requirement" value="product_photo"' in page and 'accept="image/jpeg,image/png,image/webp"' in page
