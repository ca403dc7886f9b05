"""Officer pages on a phone: the menu scrolls, tables scroll, nothing overflows the viewport."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, create_user

pytestmark = pytest.mark.e2e
PAGES = [
    "/nam-dinh/",
    "/nam-dinh/counts/breakdown?by=commune",
    "/nam-dinh/applications",
    "/nam-dinh/producers",
    "/nam-dinh/products",
    "/nam-dinh/cycles",
    "/nam-dinh/targets",
    "/nam-dinh/indicators",
    "/nam-dinh/rewards",
    "/nam-dinh/policies",
    "/nam-dinh/units",
    "/nam-dinh/councils",
    "/nam-dinh/users/",
    "/nam-dinh/audit/",
    "/nam-dinh/producers/import/",
    "/nam-dinh/users/new",
    "/nam-dinh/inspections/",
    "/nam-dinh/inspections/calendar",
    "/nam-dinh/inspections/overdue",
    "/nam-dinh/inspections/expiring",
]


def test_officer_pages_fit_a_phone(app, tenants, live_server, page, screenshots):
    _uid, email = create_user(app, tenants["nam-dinh"], roles=("province_admin",))
    assert page.goto(f"{live_server}/nam-dinh/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/nam-dinh/")
    for path in PAGES:
        assert page.goto(f"{live_server}{path}").status == 200
        # The document never scrolls sideways: wide tables and the menu scroll inside themselves.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            page.screenshot(path=str(screenshots / "overflow.png"), full_page=True)
        assert overflow <= 1, (path, overflow)
    assert page.goto(f"{live_server}/nam-dinh/applications").status == 200
    page.screenshot(path=str(screenshots / "nam-dinh-applications-phone.png"), full_page=False)
