"""On a phone, end to end through the pages (issue 8): two members and the chair declare no conflict, score
every criterion (saved as they go) and hand their sheets in; the officer closes the round with its decision;
the certificate's PDF downloads, its QR decodes to the verify URL and the public page says valid; after the
officer revokes it the page says revoked.

Only the starting point is built with services: a fresh province, its council (chair and two members), an
application ready for the council and a round holding it (the councils/rounds setup pages are not what
this test is about). Every page the browser opens must answer a page status (`checked_page`).
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import select

from app.auth.models import User
from app.evaluation import services
from app.extensions import db
from app.registry.models import Product
from tenants.context import tenant_scope
from tests import factories
from tests.conftest import PASSWORD, checked_page

pytestmark = pytest.mark.e2e
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "vi-VN"}
# Each scorer's share of every criterion's maximum: totals 80, 78, 82 (spread 4 ≤ 10), mean 80 → 4★.
SHARES = {"chair": D("0.80"), "member": D("0.78"), "member2": D("0.82")}


def _qr_urls(pdf_bytes: bytes) -> list[str]:
    urls = []
    for page in PdfReader(io.BytesIO(pdf_bytes)).pages:
        for image in page.images:
            urls += [barcode.text for barcode in zxingcpp.read_barcodes(image.image)]
    return urls


def _round_with_one_product(app, tenant_id: int, product_name: str):
    """A council (chair and two members) and an open round holding one application ready for the council.
    Returns (round id, item id, {role: email}, officer email, the criteria)."""
    council_id, users = factories.council_with_members(
        app, tenant_id, tuple("chair" if r == "chair" else "member" for r in SHARES)
    )
    scorers = dict(zip(SHARES, users, strict=True))
    producer_id, product_id = factories.producer_with_product(app, tenant_id, name=product_name, set_code="I.1.1")
    ids = factories.application_at(app, tenant_id, "ready_for_council", producer_id=producer_id, product_id=product_id)
    _officer_id, officer_email = factories.user_of_role(app, tenant_id, "province_officer")
    with app.app_context(), tenant_scope(tenant_id):
        officer = db.session.scalar(select(User).where(User.email == officer_email))
        council_round = services.round_create(officer, council_id, "Đợt 1", date.today() - timedelta(days=1))
        assert services.round_assign(council_round, [ids.application_id]) == 1
        item = services.round_products(council_round)[0][0]
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        criteria = services.criteria_for(council_round.act, product)
        db.session.commit()
        return council_round.id, item.id, {r: e for r, (_u, e) in scorers.items()}, officer_email, criteria


def _sign_in(page, base: str, email: str) -> None:
    assert page.goto(f"{base}/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    assert "/login" not in page.url


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, page.url


def _score_on_the_phone(browser, base: str, email: str, item_url: str, criteria, share: D) -> None:
    """The member's phone: declare no conflict, score each criterion (each saved as it changes), hand in."""
    with checked_page(browser, **PHONE) as phone:
        _sign_in(phone, base, email)
        assert phone.goto(item_url).status == 200
        _fits(phone)
        phone.get_by_label("Tôi không có xung đột lợi ích").check()
        with phone.expect_navigation():
            phone.get_by_role("button", name="Khai báo").click()
        assert phone.get_by_label("Tôi không có xung đột lợi ích").is_checked()
        _fits(phone)
        # Typed as on a phone, criterion after criterion without waiting: score.js posts each one when it
        # changes, so the saves overlap on the server and must all land.
        score_url = item_url + "/score"
        saves = []
        phone.on("requestfinished", lambda r: saves.append(r) if r.url == score_url and r.method == "POST" else None)
        for criterion in criteria:
            field = phone.get_by_label(f"{criterion.code}. {criterion.text}")
            field.fill(f"{criterion.max * share:.2f}".replace(".", ","))  # typed the Vietnamese way
            field.press("Tab")
        for _ in range(100):
            if len(saves) >= len(criteria):
                break
            phone.wait_for_timeout(50)
        assert len(saves) == len(criteria)
        assert [r.response().status for r in saves] == [200] * len(criteria)
        expected = sum((c.max * share for c in criteria), D(0))
        assert phone.reload().status == 200  # the sheet on the server holds every criterion
        assert D(phone.locator("#total").inner_text().replace(".", "").replace(",", ".")) == expected
        with phone.expect_navigation():
            phone.get_by_role("button", name="Nộp phiếu").click()
        assert phone.get_by_text("Đã nộp phiếu.").is_visible()
        assert D(phone.locator("#total").inner_text().replace(".", "").replace(",", ".")) == expected


def test_council_scores_on_phones_officer_closes_and_the_certificate_verifies(app, fresh_tenant, live_server, browser):
    tenant_id, slug = fresh_tenant
    base = f"{live_server}/{slug}"
    round_id, item_id, emails, officer_email, criteria = _round_with_one_product(app, tenant_id, "Nước mắm Giao Châu")
    item_url = f"{base}/evaluation/rounds/{round_id}/items/{item_id}"

    for role, share in SHARES.items():
        _score_on_the_phone(browser, base, emails[role], item_url, criteria, share)

    with (
        checked_page(browser, **PHONE, accept_downloads=True) as officer,
        checked_page(browser, **PHONE) as scanner,
    ):
        _sign_in(officer, base, officer_email)
        assert officer.goto(f"{base}/evaluation/rounds/{round_id}").status == 200
        _fits(officer)
        row = officer.get_by_role("row", name="Nước mắm Giao Châu")
        assert "3/3" in row.inner_text() and "Đủ điều kiện" in row.inner_text()

        # The officer closes the round with the decision.
        today = date.today().strftime("%d/%m/%Y")
        officer.get_by_label("Số quyết định").fill("205/QĐ-UBND")
        officer.get_by_label("Ngày quyết định").fill(today)
        officer.get_by_label("Cơ quan ban hành").fill("UBND tỉnh")
        with officer.expect_navigation():
            officer.get_by_role("button", name="Kết thúc đợt").click()
        assert officer.url == f"{base}/evaluation/rounds/{round_id}"
        assert "Đã kết thúc đợt và ghi quyết định." in officer.content()
        assert officer.get_by_role("row", name="Nước mắm Giao Châu").locator("td").last.inner_text() == "Đạt"

        # The decision created the certificate: the province's list links to it.
        assert officer.goto(f"{base}/certificates").status == 200
        with officer.expect_navigation():
            officer.get_by_role("link", name="205/QĐ-UBND").click()
        certificate_url = officer.url
        assert certificate_url.startswith(f"{base}/certificates/")
        assert officer.get_by_role("heading", level=1).inner_text() == "★★★★ Nước mắm Giao Châu"
        with officer.expect_download() as download_info:
            officer.get_by_test_id("certificate-pdf").click()
        download = download_info.value
        assert download.suggested_filename.endswith(".pdf")
        urls = _qr_urls(open(download.path(), "rb").read())
        assert len(urls) == 1 and urls[0].startswith(f"{live_server}/verify/")
        verify_url = urls[0]

        # Anyone scanning the QR: another phone, no login.
        assert scanner.goto(verify_url).status == 200
        status = scanner.get_by_test_id("verify-status")
        assert status.get_attribute("data-status") == "valid"
        assert "Nước mắm Giao Châu" in scanner.get_by_test_id("verify-product").inner_text()
        assert scanner.locator(".verify-stars").inner_text() == "★★★★ 4 sao"
        assert "205/QĐ-UBND" in scanner.get_by_test_id("verify-card").inner_text()
        _fits(scanner)
        scanner.get_by_test_id("lang-en").click()
        assert "Valid" in scanner.get_by_test_id("verify-status").inner_text()

        # The officer revokes it through the certificate's revoke form.
        assert officer.goto(f"{certificate_url}/revoke").status == 200
        officer.get_by_label("Lý do thu hồi").fill("Không duy trì chất lượng")
        officer.get_by_label("Số quyết định thu hồi").fill("9/QĐ-UBND")
        officer.get_by_label("Ngày quyết định thu hồi (dd/mm/yyyy)").fill(today)
        with officer.expect_navigation():
            officer.locator("form button[type=submit]").last.click()
        assert officer.url == certificate_url

        # The page is cacheable for 60 s (max-age): a reload revalidates with the ETag and gets the news;
        # the server keeps no copy, so any request that reaches it sees the revocation at once.
        scanner.goto(verify_url)
        assert scanner.reload().status == 200
        status = scanner.get_by_test_id("verify-status")
        assert status.get_attribute("data-status") == "revoked"
        assert "9/QĐ-UBND" in status.inner_text()
