"""A Bắc Giang officer signs in on a phone, switches to English and back, and sees the dashboard."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, create_user

pytestmark = pytest.mark.e2e


def test_officer_signs_in_switches_language_and_sees_dashboard(app, tenants, live_server, page, screenshots):
    _uid, email = create_user(app, tenants["bac-giang"], full_name="Ngô Thị Cán Bộ")
    assert page.goto(f"{live_server}/bac-giang/login").status == 200
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/bac-giang/")
    title = page.get_by_test_id("dashboard-title")
    assert "Tổng quan chương trình OCOP" in title.inner_text()

    page.get_by_test_id("lang-en").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "OCOP programme overview" in page.get_by_test_id("dashboard-title").inner_text()
    assert page.get_by_role("button", name="Sign out").is_visible()

    page.get_by_test_id("lang-vi").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "vi"
    assert "Tổng quan chương trình OCOP" in page.get_by_test_id("dashboard-title").inner_text()
    assert "Bắc Giang" in page.get_by_test_id("tenant-name").inner_text()
    # Nothing of another province on the page.
    assert "Hà Tĩnh" not in page.content()
    page.screenshot(path=str(screenshots / "bac-giang-dashboard-phone.png"), full_page=True)
