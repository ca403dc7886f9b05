"""Certificate pages: entry by hand, list with filters and Excel, correction and revocation (audited), bad input."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.certification.models import Certificate
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import create_user, csrf_token, login


def _post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def _form(**values):
    return {
        "stars": "3",
        "decision_number": "15/QĐ-UBND",
        "decision_date": "05/03/2020",
        "score": "",
        "part_a": "",
        "part_b": "",
        "part_c": "",
        "authority": "",
        "kind": "",
        "valid_from": "",
        "valid_to": "",
        **values,
    }


def _certificates(app, tenant_id, product_id):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalars(select(Certificate).where(Certificate.product_id == product_id)).all()


def test_officer_enters_lists_exports_corrects_and_revokes(app, tenants, officer_login, new_product):
    marker = uuid.uuid4().hex[:6]
    product_id = new_product(name=f"Mật ong bạc hà {marker}")
    client, _user_id, _email = officer_login("bac-giang")
    response = _post(client, f"/bac-giang/products/{product_id}/certificates/new", _form(score="65,5"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    (cert,) = _certificates(app, tenants["bac-giang"], product_id)
    assert (cert.stars, str(cert.score), cert.valid_to, cert.source) == (3, "65.50", date(2023, 3, 5), "manual")
    # The same decision again creates nothing.
    assert _post(client, f"/bac-giang/products/{product_id}/certificates/new", _form()).status_code == 302
    assert len(_certificates(app, tenants["bac-giang"], product_id)) == 1

    # The list: search without diacritics, status on a chosen date, stars, year.
    def listed(query):
        page = client.get(f"/bac-giang/certificates?q=mat+ong+bac+ha+{marker}&{query}").get_data(True)
        return f">Mật ong bạc hà {marker}</a>" in page

    assert listed("on=05/03/2023&status=expiring") and not listed("on=06/03/2023&status=valid_any")
    assert listed("on=06/03/2023&status=expired") and listed("stars=3&year=2020")
    assert not listed("stars=4") and not listed("year=2021") and not listed("on=04/03/2020&status=valid_any")
    assert listed("")  # no status filter: every certificate, status shown for today
    book = load_workbook(BytesIO(client.get(f"/bac-giang/certificates/export.xlsx?q={marker}&on=01/01/2021").data))
    rows = list(book.active.iter_rows(values_only=True))
    # The import layout (app/exchange/export.py), then the status on the chosen day and the days left.
    header = list(rows[0])
    assert len(rows) == 2 and rows[1][header.index("Tên sản phẩm*")] == f"Mật ong bạc hà {marker}"
    assert rows[1][header.index("Số quyết định công nhận")] == "15/QĐ-UBND"
    assert rows[1][header.index("Tình trạng (01/01/2021)")] == "Còn hiệu lực"
    assert rows[1][header.index("Số ngày còn lại")] == (date(2023, 3, 5) - date(2021, 1, 1)).days
    # The chain shows on the product page.
    page = client.get(f"/bac-giang/products/{product_id}").get_data(True)
    assert "15/QĐ-UBND" in page and "Hết hạn" in page

    # Correction: the decision date moves and the default validity follows; audited.
    response = _post(
        client, f"/bac-giang/certificates/{cert.id}/edit", _form(decision_date="06/03/2020", valid_from="05/03/2020")
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    (cert,) = _certificates(app, tenants["bac-giang"], product_id)
    assert (cert.decision_date, cert.valid_from, cert.valid_to) == (
        date(2020, 3, 6),
        date(2020, 3, 6),
        date(2023, 3, 6),
    )
    # Revocation with its reason and decision.
    response = _post(
        client,
        f"/bac-giang/certificates/{cert.id}/revoke",
        {"reason": "Vi phạm an toàn thực phẩm", "decision_number": "88/QĐ-UBND", "decision_date": "01/06/2021"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert listed("on=01/06/2021&status=revoked") and listed("on=31/05/2021&status=valid")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        actions = db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "certificates", AuditEntry.entity_id == cert.id)
            .order_by(AuditEntry.id)
        ).all()
        assert actions == ["create", "update", "update"]
    # Revoking twice is refused with a message, not a 500.
    response = _post(
        client,
        f"/bac-giang/certificates/{cert.id}/revoke",
        {"reason": "Lần hai", "decision_number": "89/QĐ-UBND", "decision_date": "02/06/2021"},
    )
    assert response.status_code == 200 and "đã bị thu hồi" in response.get_data(True)


FUTURE = (date.today() + timedelta(days=2)).strftime("%d/%m/%Y")


@pytest.mark.parametrize(
    "values, message_vi, message_en",
    [
        ({"decision_date": "31/02/2020"}, "Ngày không hợp lệ", "Invalid date"),
        ({"decision_date": "2020-03-05x"}, "Ngày không hợp lệ", "Invalid date"),
        ({"decision_date": "05/03/20200"}, "Ngày không hợp lệ", "Invalid date"),
        ({"decision_date": "05/03/2020\x00"}, "NUL", "NUL"),
        ({"decision_date": FUTURE}, "không được sau hôm nay", "cannot be after today"),
        ({"decision_number": '=HYPERLINK("x")'}, "công thức", "formula"),
        ({"decision_number": "12;DROP"}, "Số quyết định chỉ gồm", "Decision numbers contain"),
        ({"decision_number": "12\x00/QĐ"}, "NUL", "NUL"),
        ({"decision_number": " "}, "Bắt buộc nhập", "Required"),
        ({"decision_number": "1/" + "Q" * 100}, "Dài quá 64 ký tự", "Longer than 64 characters"),
        ({"decision_date": ""}, "Bắt buộc nhập", "Required"),
        ({"stars": "6"}, "Hạng sao phải là 3, 4 hoặc 5", "Stars must be 3, 4 or 5"),
        ({"score": "abc"}, "Điểm phải là số", "The score must be"),
        ({"score": "9" * 400}, "Điểm phải là số", "The score must be"),
        ({"score": "1e999"}, "Điểm phải là số", "The score must be"),
        ({"score": "95"}, "không khớp hạng 3 sao", "does not match 3 stars"),
        ({"part_a": "41"}, "Điểm phải là số từ 0 đến 35", "The score must be a number from 0 to 35"),
        ({"valid_to": "01/01/2019"}, "Ngày hết hạn phải sau", "The end of validity must"),
    ],
)
def test_bad_input_is_explained_in_both_languages(
    app, tenants, officer_login, new_product, values, message_vi, message_en
):
    product_id = new_product()
    client, _user_id, _email = officer_login("bac-giang")
    url = f"/bac-giang/products/{product_id}/certificates/new"
    response = _post(client, url, _form(**values))
    assert response.status_code == 200 and message_vi in response.get_data(True), response.get_data(True)[-3000:]
    client.post("/bac-giang/lang/en", data={"csrf_token": csrf_token(client, url), "next": url})
    response = _post(client, url, _form(**values))
    assert response.status_code == 200 and message_en in response.get_data(True)
    assert _certificates(app, tenants["bac-giang"], product_id) == []


@pytest.mark.parametrize(
    "values, message",
    [
        ({"reason": "", "decision_number": "1/QĐ", "decision_date": "01/01/2024"}, "Bắt buộc nhập"),
        ({"reason": "=cmd()", "decision_number": "1/QĐ", "decision_date": "01/01/2024"}, "công thức"),
        ({"reason": "x\x00", "decision_number": "1/QĐ", "decision_date": "01/01/2024"}, "NUL"),
        ({"reason": "Ngừng sản xuất", "decision_number": "1/QĐ", "decision_date": "32/01/2024"}, "Ngày không hợp lệ"),
        ({"reason": "Ngừng sản xuất", "decision_number": "1/QĐ", "decision_date": FUTURE}, "sau hôm nay"),
        (
            {"reason": "Ngừng sản xuất", "decision_number": "1/QĐ", "decision_date": "01/01/2019"},
            "trước ngày có hiệu lực",
        ),
        ({"reason": "Ngừng sản xuất", "decision_number": "1/QĐ", "decision_date": "01/01/2029"}, "sau hôm nay"),
    ],
)
def test_bad_revocation_is_explained(app, tenants, officer_login, new_product, in_tenant, values, message):
    from app.certification.services import certificate_record
    from app.registry.models import Product

    product_id = new_product()
    with in_tenant():
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        cert, _created = certificate_record(product, stars=3, decision_number="5/QĐ", decision_date=date(2023, 6, 1))
        db.session.commit()
        cert_id = cert.id
    client, _user_id, _email = officer_login("bac-giang")
    response = _post(client, f"/bac-giang/certificates/{cert_id}/revoke", values)
    assert response.status_code == 200 and message in response.get_data(True)
    assert _certificates(app, tenants["bac-giang"], product_id)[0].revoked_on is None


@pytest.mark.parametrize(
    "query",
    [
        "on=31/02/2020",
        "on=31/12/9999&status=valid",
        "on=31/12/9999&status=expiring",
        "on=01/01/0001&status=expired",
        "stars=9",
        "stars=9223372036854775808",
        "year=abc",
        "year=99999",
        "status=bogus",
        "page=99999999999",
        "page=100000000000000000000",
        "q=" + "x" * 500,
    ],
)
def test_bad_filters_never_fail(officer_login, query):
    client, _user_id, _email = officer_login("bac-giang")
    assert client.get(f"/bac-giang/certificates?{query}").status_code == 200
    assert client.get(f"/bac-giang/certificates/export.xlsx?{query}").status_code == 200


@pytest.mark.parametrize("query", ["on=%00", "q=a%00b"])
def test_nul_in_a_filter_is_a_bad_request(officer_login, query):
    client, _user_id, _email = officer_login("bac-giang")
    response = client.get(f"/bac-giang/certificates?{query}")
    assert response.status_code == 400 and "ký tự NUL" in response.get_data(True)
    assert client.get(f"/bac-giang/certificates/export.xlsx?{query}").status_code == 400


def test_a_day_beyond_2100_is_refused_and_pages_never_fail(app, tenants, officer_login, new_product, in_tenant):
    """A validity "until 31/12/9999" (meaning "for ever") would break every page that shows its status."""
    from app.certification.services import CertificateError, certificate_record
    from app.registry.models import Product

    product_id = new_product()
    client, _user_id, _email = officer_login("bac-giang")
    url = f"/bac-giang/products/{product_id}/certificates/new"
    for values in ({"valid_to": "31/12/9999"}, {"valid_from": "31/12/9999", "valid_to": "31/12/9999"}):
        response = _post(client, url, _form(**values))
        assert response.status_code == 200 and "Ngày phải từ 01/01/2000 đến 31/12/2100" in response.get_data(True)
    assert _certificates(app, tenants["bac-giang"], product_id) == []
    with in_tenant():
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        with pytest.raises(CertificateError) as error:
            certificate_record(
                product, stars=3, decision_number="7/QĐ", decision_date=date(2024, 3, 1), valid_to=date(9999, 12, 31)
            )
        assert error.value.field == "valid_to"
        db.session.rollback()
        cert, _created = certificate_record(product, stars=3, decision_number="7/QĐ", decision_date=date(2024, 3, 1))
        db.session.commit()
        cert_id = cert.id
    response = _post(client, f"/bac-giang/certificates/{cert_id}/edit", _form(valid_to="31/12/9999"))
    assert response.status_code == 200 and "Ngày phải từ 01/01/2000 đến 31/12/2100" in response.get_data(True)
    for page in (f"/bac-giang/certificates/{cert_id}", f"/bac-giang/products/{product_id}", "/bac-giang/certificates"):
        assert client.get(page).status_code == 200


def test_list_is_paginated(app, tenants, officer_login, new_product):
    client, _user_id, _email = officer_login("bac-giang")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        total = db.session.scalar(select(func.count()).select_from(Certificate))
    page = client.get("/bac-giang/certificates").get_data(True)
    assert f"{total} giấy chứng nhận" in page
    assert page.count('href="/bac-giang/certificates/') - page.count("export.xlsx") <= 50


def test_producer_reads_own_certificates_only(app, tenants, new_product, in_tenant):
    from app.certification.services import certificate_record
    from app.registry.models import Product

    product_id = new_product()
    other_id = new_product()
    with in_tenant():
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        other = db.session.scalar(select(Product).where(Product.id == other_id))
        certificate_record(product, stars=4, decision_number="77/QĐ-UBND", decision_date=date.today())
        certificate_record(other, stars=3, decision_number="78/QĐ-UBND", decision_date=date.today())
        producer_id = product.producer_id
        db.session.commit()
    _uid, email = create_user(app, tenants["bac-giang"], roles=("producer",), producer_id=producer_id)
    client = app.test_client()
    assert login(client, "/bac-giang/login", email).status_code == 302
    portal = client.get("/bac-giang/portal/").get_data(True)
    assert "77/QĐ-UBND" in portal and "78/QĐ-UBND" not in portal
    assert "77/QĐ-UBND" in client.get(f"/bac-giang/products/{product_id}").get_data(True)
    assert client.get("/bac-giang/certificates").status_code == 403
    assert client.get(f"/bac-giang/products/{product_id}/certificates/new").status_code == 403
