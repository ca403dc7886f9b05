"""The national viewer on a phone: statistics, a star filter, a province's aggregates, their Excel."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook

from app.national.jobs import rollups_refresh
from tests.conftest import PASSWORD, create_account
from tests.factories import new_tenant, producer_with_product

pytestmark = pytest.mark.e2e


def test_national_viewer_filters_drills_down_and_downloads_on_a_phone(app, live_server, page, screenshots):
    tenant_id, slug = new_tenant(app)
    for stars in (3, 3, 3, 4, 4, 4, 5):
        producer_with_product(app, tenant_id, stars=stars)
    with app.app_context():
        rollups_refresh()
    _aid, email = create_account(app, "national_viewer")
    assert page.goto(f"{live_server}/national/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/national/")
    page.get_by_test_id("national-statistics").click()
    page.wait_for_url(f"{live_server}/national/statistics")
    assert page.get_by_test_id("counting-rules").is_visible()
    page.get_by_test_id("filter-stars").select_option("4")
    page.get_by_test_id("filter-submit").click()
    page.wait_for_url(re.compile(r"/national/statistics\?.*stars=4"))
    assert page.locator(f'tr[data-slug="{slug}"] td.num').first.inner_text() == "3"
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.get_by_test_id(f"drill-{slug}").click()
    page.wait_for_url(re.compile(rf"/national/provinces/{slug}\?"))
    assert page.get_by_test_id("province-valid").inner_text() == "3"
    page.screenshot(path=str(screenshots / "national-province-phone.png"), full_page=False)
    with page.expect_download() as download_info:
        page.get_by_test_id("province-export").click()
    download = download_info.value
    assert download.suggested_filename == f"ocop-{slug}.xlsx"
    rows = list(load_workbook(BytesIO(open(download.path(), "rb").read())).active.iter_rows(values_only=True))
    assert rows[1][2] == 3  # the province's valid 4★ products
