"""Public verification `/verify/<code>` and the certificate PDF with its QR."""

from __future__ import annotations

import io
import re
import string
from datetime import date, timedelta

import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import select, text

from app.certification.models import Certificate
from app.certification.services import certificate_revoke
from app.core import clock
from app.extensions import db
from app.verify import services
from tenants.context import tenant_scope
from tests import factories

URL_SAFE = set(string.ascii_letters + string.digits + "-_")


def _code(app, tenant_id: int, certificate_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(Certificate.public_code).where(Certificate.id == certificate_id))


def _certified(app, tenant_id: int, **overrides):
    """(producer_id, product_id, certificate_id, code) of a new product with a certificate."""
    producer_id, product_id = factories.producer_with_product(app, tenant_id, name="Mật ong bạc hà Mèo Vạc")
    cert_id = factories.certificate_recorded(app, tenant_id, product_id, **overrides)
    return producer_id, product_id, cert_id, _code(app, tenant_id, cert_id)


def _status(response) -> str:
    match = re.search(r'data-status="([a-z_]+)"', response.get_data(as_text=True))
    return match.group(1) if match else ""


def test_valid_certificate_shows_its_public_facts_without_login(app, client, tenants):
    tenant_id = tenants["bac-giang"]
    _producer, _product, _cert, code = _certified(app, tenant_id, stars=4, decision_number="77/QĐ-UBND")
    response = client.get(f"/verify/{code}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _status(response) == "valid"
    assert "Mật ong bạc hà Mèo Vạc" in body
    assert "Còn hiệu lực" in body and "77/QĐ-UBND" in body and "★★★★" in body
    assert "Bắc Giang" in body
    assert (clock.today() - timedelta(days=30)).strftime("%d/%m/%Y") in body
    assert response.headers["Content-Language"] == "vi"


def test_english_through_the_language_links(app, client, tenants):
    _p, _q, _c, code = _certified(app, tenants["bac-giang"])
    response = client.get(f"/verify/{code}?lang=en")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Content-Language"] == "en"
    assert "Valid" in body and "Bac Giang" in body and "Còn hiệu lực" not in body
    # The switch back is a plain link (no form, no CSRF token, no cookie).
    assert f'href="/verify/{code}?lang=vi"' in body and "csrf_token" not in body


def test_the_page_is_cacheable_and_sets_no_cookie(app, client, tenants):
    _p, _q, _c, code = _certified(app, tenants["bac-giang"])
    response = client.get(f"/verify/{code}")
    assert response.cache_control.public and response.cache_control.max_age == 60
    assert "Cookie" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers
    etag = response.headers["ETag"]
    again = client.get(f"/verify/{code}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""


@pytest.mark.parametrize(
    "code",
    [
        "0123456789abcdef0123456789abcdef",  # well-formed, unknown
        "abc%00def0123456789abcdef012345",  # NUL
        "a" * 10240,  # 10 KB
        "Mã-sản-phẩm-ỐCÔP-1234567890",  # unicode
        "' OR '1'='1' --%20xxxxxxxxxxxxxx",  # SQL-ish
        "%27%3B%20DROP%20TABLE%20certificates%3B--",
        "short",
        "..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_unknown_or_malformed_codes_get_a_clear_404(client, code):
    response = client.get(f"/verify/{code}")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Không tìm thấy giấy chứng nhận" in body
    assert "Set-Cookie" not in response.headers


def test_codes_from_every_province_are_found_and_one_code_names_one_certificate(app, client, tenants):
    """The code is global: the lookup crosses tenants through the definer function, field by field."""
    fresh_id, _slug = factories.new_tenant(app)
    found = {}
    for tenant_id in (tenants["ha-tinh"], fresh_id):
        _p, _q, _c, code = _certified(app, tenant_id, decision_number=f"{tenant_id}/QĐ-UBND")
        response = client.get(f"/verify/{code}")
        assert response.status_code == 200
        found[tenant_id] = response.get_data(as_text=True)
    assert f"{tenants['ha-tinh']}/QĐ-UBND" in found[tenants["ha-tinh"]]
    assert f"{fresh_id}/QĐ-UBND" not in found[tenants["ha-tinh"]]
    assert "Tỉnh thử" in found[fresh_id]


def test_the_web_role_reaches_other_provinces_only_through_the_function(app, tenants):
    _p, _q, cert_id, code = _certified(app, tenants["ha-tinh"])
    with app.app_context():
        connection = db.engine.connect()
        try:
            role = connection.execute(text("SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")).scalar()
            assert role is False
            # With no tenant set, RLS hides every certificate from the web role...
            assert (
                connection.execute(
                    text("SELECT count(*) FROM certificates WHERE public_code = :c"), {"c": code}
                ).scalar()
                == 0
            )
            # ...and the function returns exactly the one asked for, with public fields only.
            rows = connection.execute(text("SELECT * FROM verify.certificate_public(:c)"), {"c": code}).mappings().all()
            assert len(rows) == 1 and rows[0]["code"] == code
            assert set(rows[0]) == set(services.PublicCertificate.__dataclass_fields__)
            assert connection.execute(text("SELECT count(*) FROM verify.certificate_public('')")).scalar() == 0
        finally:
            connection.close()


def test_codes_are_not_guessable_in_sequence(app, tenants):
    tenant_id = tenants["bac-giang"]
    _p, product_id = factories.producer_with_product(app, tenant_id)
    first = factories.certificate_recorded(app, tenant_id, product_id, decision_date=clock.today() - timedelta(days=60))
    second = factories.certificate_recorded(
        app, tenant_id, product_id, decision_date=clock.today() - timedelta(days=20)
    )
    codes = [_code(app, tenant_id, first), _code(app, tenant_id, second)]
    for code in codes:
        assert len(code) >= 16 and set(code) <= URL_SAFE
    a, b = codes
    assert a != b
    assert a[:4] != b[:4] and a[-4:] != b[-4:]  # no shared prefix/suffix (chance 2 × 16⁻⁴ for random hex)
    assert abs(int(a, 16) - int(b, 16)) > 2**64  # not neighbours in any counting order


def test_revocation_shows_at_once(app, client, tenants):
    tenant_id = tenants["bac-giang"]
    _p, _q, cert_id, code = _certified(app, tenant_id)
    before = client.get(f"/verify/{code}")
    assert _status(before) == "valid"
    with app.app_context(), tenant_scope(tenant_id):
        cert = db.session.get(Certificate, (tenant_id, cert_id))
        certificate_revoke(cert, "Vi phạm an toàn thực phẩm", "12/QĐ-UBND", clock.today())
        db.session.commit()
    # A client revalidating with the old ETag gets the new page, not 304.
    after = client.get(f"/verify/{code}", headers={"If-None-Match": before.headers["ETag"]})
    body = after.get_data(as_text=True)
    assert after.status_code == 200 and _status(after) == "revoked"
    assert "Đã thu hồi" in body and clock.today().strftime("%d/%m/%Y") in body and "12/QĐ-UBND" in body
    assert after.headers["ETag"] != before.headers["ETag"]


def test_supersession_shows_at_once_with_the_new_certificate(app, client, tenants):
    tenant_id = tenants["bac-giang"]
    _p, product_id, _c, old_code = _certified(app, tenant_id, decision_date=clock.today() - timedelta(days=400))
    assert _status(client.get(f"/verify/{old_code}")) == "valid"
    new_id = factories.certificate_recorded(
        app, tenant_id, product_id, stars=4, decision_number="88/QĐ-UBND", decision_date=clock.today()
    )
    new_code = _code(app, tenant_id, new_id)
    old = client.get(f"/verify/{old_code}")
    body = old.get_data(as_text=True)
    assert _status(old) == "superseded"
    assert "88/QĐ-UBND" in body and f'href="/verify/{new_code}"' in body
    assert _status(client.get(f"/verify/{new_code}")) == "valid"


def test_expiring_and_expired(app, client, tenants):
    tenant_id = tenants["bac-giang"]
    today = clock.today()
    # Valid 36 months from the decision: decided 36 months minus ~20 days ago it has ~20 days left.
    from app.certification.services import certificate_term_end

    decided = today + timedelta(days=20)
    decided = date(decided.year - 3, decided.month, min(decided.day, 28))
    _p, _q, _c, code = _certified(app, tenant_id, decision_date=decided)
    left = (certificate_term_end(decided) - today).days
    response = client.get(f"/verify/{code}")
    assert _status(response) == "expiring"
    assert f"còn {left} ngày" in response.get_data(as_text=True)
    _p, _q, _c, code = _certified(app, tenant_id, decision_date=date(today.year - 4, 1, 15))
    assert _status(client.get(f"/verify/{code}")) == "expired"


# ----------------------------------------------------------------------------- PDF


def _qr_urls(pdf_bytes: bytes) -> list[str]:
    """Decode every QR in the PDF's images (zxing-cpp on the embedded PNG)."""
    reader = PdfReader(io.BytesIO(pdf_bytes))
    urls = []
    for page in reader.pages:
        for image in page.images:
            urls += [barcode.text for barcode in zxingcpp.read_barcodes(image.image)]
    return urls


def test_officer_downloads_the_pdf_whose_qr_opens_the_verify_page(app, client, tenants):
    tenant_id = tenants["bac-giang"]
    _p, _q, cert_id, code = _certified(app, tenant_id, decision_number="15/QĐ-UBND")
    _uid, email = factories.user_of_role(app, tenant_id, "province_officer")
    officer = factories.signed_in(app, "bac-giang", email)
    response = officer.get(f"/bac-giang/certificates/{cert_id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    pdf = response.get_data()
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    content = reader.pages[0].extract_text()
    for expected in ("GIẤY CHỨNG NHẬN", "Mật ong bạc hà Mèo Vạc", "15/QĐ-UBND", "Bắc Giang"):
        assert expected in content, expected
    assert _qr_urls(pdf) == [f"http://localhost/verify/{code}"]
    assert _status(client.get(f"/verify/{code}")) == "valid"


def test_the_qr_uses_the_configured_public_address(app, tenants):
    tenant_id = tenants["bac-giang"]
    _p, _q, cert_id, code = _certified(app, tenant_id)
    _uid, email = factories.user_of_role(app, tenant_id, "province_officer")
    officer = factories.signed_in(app, "bac-giang", email)
    app.config["PUBLIC_BASE_URL"] = "https://ocop.example.vn/"
    try:
        pdf = officer.get(f"/bac-giang/certificates/{cert_id}/certificate.pdf").get_data()
    finally:
        app.config["PUBLIC_BASE_URL"] = ""
    assert _qr_urls(pdf) == [f"https://ocop.example.vn/verify/{code}"]


def test_a_producer_downloads_its_own_certificate_only(app, tenants):
    tenant_id = tenants["bac-giang"]
    producer_id, _q, own_cert, _code1 = _certified(app, tenant_id)
    _p2, _q2, other_cert, _code2 = _certified(app, tenant_id)
    _uid, email = factories.user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    producer = factories.signed_in(app, "bac-giang", email)
    assert producer.get(f"/bac-giang/certificates/{own_cert}/certificate.pdf").status_code == 200
    answers = []
    for cert_id in (other_cert, 10**12):
        url = f"/bac-giang/certificates/{cert_id}/certificate.pdf"
        response = producer.get(url)
        # The page's own URL (in the language switch) differs; nothing else may.
        answers.append((response.status_code, response.get_data(as_text=True).replace(url, "<url>")))
    assert answers[0][0] == 404 and answers[0] == answers[1]


def test_anonymous_download_goes_to_login(app, client, tenants):
    _p, _q, cert_id, _code = _certified(app, tenants["bac-giang"])
    response = client.get(f"/bac-giang/certificates/{cert_id}/certificate.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_missing_font_is_a_clear_error(tmp_path):
    from types import SimpleNamespace

    from app.verify import pdf

    document = SimpleNamespace(certificate=SimpleNamespace(decision_number="1/QĐ"), product=None, producer=None)
    with pytest.raises(pdf.FontMissing, match="fonts-dejavu-core"):
        pdf.certificate_pdf(document, "http://x/verify/y", str(tmp_path))
