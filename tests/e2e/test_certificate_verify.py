"""On a phone: a certificate's PDF downloads, its QR decodes to the verify URL, the public page says valid;
after the officer revokes it the page says revoked.

Issue 8 asks for this to start with two members and the chair scoring the product and the officer
closing the round. The evaluation UI (branch `eval`) had no scoring or closing pages when this was
written, so the certificate is recorded here with `certificate_record`, the service the round's
closing calls; the scoring steps are to be added in front once those pages exist.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
import zxingcpp
from pypdf import PdfReader

from tests import factories
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def _qr_urls(pdf_bytes: bytes) -> list[str]:
    urls = []
    for page in PdfReader(io.BytesIO(pdf_bytes)).pages:
        for image in page.images:
            urls += [barcode.text for barcode in zxingcpp.read_barcodes(image.image)]
    return urls


def test_certificate_pdf_qr_and_live_verify_page_on_a_phone(app, tenants, live_server, page, browser, tmp_path):
    tenant_id = tenants["nam-dinh"]
    _producer, product_id = factories.producer_with_product(app, tenant_id, name="Nước mắm Giao Châu")
    cert_id = factories.certificate_recorded(app, tenant_id, product_id, stars=4, decision_number="205/QĐ-UBND")
    _uid, email = factories.user_of_role(app, tenant_id, "province_officer")

    assert page.goto(f"{live_server}/nam-dinh/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/nam-dinh/")
    assert page.goto(f"{live_server}/nam-dinh/certificates/{cert_id}").status == 200
    with page.expect_download() as download_info:
        page.get_by_test_id("certificate-pdf").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    urls = _qr_urls(saved.read_bytes())
    assert len(urls) == 1 and urls[0].startswith(f"{live_server}/verify/")
    verify_url = urls[0]

    # Anyone scanning the QR: a new phone context, no login.
    with factories_phone(browser) as phone:
        assert phone.goto(verify_url).status == 200
        assert phone.get_by_test_id("verify-status").get_attribute("data-status") == "valid"
        assert "Nước mắm Giao Châu" in phone.get_by_test_id("verify-product").inner_text()
        assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
        phone.get_by_test_id("lang-en").click()
        assert "Valid" in phone.get_by_test_id("verify-status").inner_text()

        # The officer revokes it through the certificate's revoke form.
        assert page.goto(f"{live_server}/nam-dinh/certificates/{cert_id}/revoke").status == 200
        page.get_by_label("Lý do thu hồi").fill("Không duy trì chất lượng")
        page.get_by_label("Số quyết định thu hồi").fill("9/QĐ-UBND")
        page.get_by_label("Ngày quyết định thu hồi (dd/mm/yyyy)").fill(date.today().strftime("%d/%m/%Y"))
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url(f"{live_server}/nam-dinh/certificates/{cert_id}")

        # The page is cacheable for 60 s (max-age): a reload revalidates with the ETag and gets the news;
        # the server keeps no copy, so any request that reaches it sees the revocation at once.
        phone.goto(verify_url)
        assert phone.reload().status == 200
        status = phone.get_by_test_id("verify-status")
        assert status.get_attribute("data-status") == "revoked"
        assert "9/QĐ-UBND" in status.inner_text()


def factories_phone(browser):
    from tests.conftest import checked_page

    return checked_page(browser, viewport={"width": 390, "height": 844}, locale="vi-VN")
