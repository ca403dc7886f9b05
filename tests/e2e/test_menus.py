"""Each role signs in with a browser: every menu item it sees opens (200), and it sees exactly the items
the policy grants it (app/auth/menu.py); each item it does not see is refused when typed in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.menu import MENUS, menu_items_for
from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import AdminUnit
from tests.conftest import PASSWORD, checked_page, create_account, create_user, login
from tests.factories import producer_with_product

pytestmark = pytest.mark.e2e

TENANT_ROLES = ("producer", "commune_officer", "province_officer", "province_admin", "council_member", "inspector")
# What each role must see, in menu order (labels of app/auth/menu.py): the policy written out once more.
PROVINCE_OFFICER = [
    "Tổng quan",
    "Hồ sơ",
    "Chủ thể",
    "Sản phẩm",
    "Giấy chứng nhận",
    "Việc kiểm tra",
    "Kiểm tra",
    "Đánh giá",
    "Kết quả đánh giá",
    "Chu trình",
    "Chỉ số",
    "Mục tiêu",
    "Chính sách",
    "Hội đồng",
    "Địa bàn",
    "Thưởng",
]  # fmt: skip
EXPECTED = {
    "producer": ["Trang của tôi", "Hồ sơ", "Kết quả đánh giá"],
    # The officer's menu without the inspection work and the councils' scoring.
    "commune_officer": [m for m in PROVINCE_OFFICER if m not in ("Việc kiểm tra", "Đánh giá", "Kết quả đánh giá")],
    "province_officer": PROVINCE_OFFICER,
    # The officer's menu, then the province's administration.
    "province_admin": [*PROVINCE_OFFICER, "Người dùng", "Nhật ký", "Hộp thư đi", "Công việc nền"],
    "council_member": [
        "Tổng quan",
        "Giấy chứng nhận",
        "Đánh giá",
        "Chỉ số",
        "Mục tiêu",
        "Chính sách",
        "Hội đồng",
        "Địa bàn",
    ],  # fmt: skip
    "inspector": [
        "Tổng quan",
        "Giấy chứng nhận",
        "Việc kiểm tra",
        "Kiểm tra",
        "Chỉ số",
        "Mục tiêu",
        "Chính sách",
        "Hội đồng",
        "Địa bàn",
    ],  # fmt: skip
    "national_viewer": ["Các tỉnh", "Thống kê"],
    "platform_admin": ["Các tỉnh"],
}


class _Role:
    """Enough of a user for `can()`: one role, signed in."""

    is_authenticated = True

    def __init__(self, role):
        self.role = role

    def has_role(self, *roles):
        return self.role in roles


def _user(app, tenants, role) -> tuple[str, str, str]:
    """A new user of the role: (area, its URL prefix, email)."""
    if role in ("national_viewer", "platform_admin"):
        area = "national" if role == "national_viewer" else "platform"
        _id, email = create_account(app, role)
        return area, f"/{area}", email
    tenant_id = tenants["bac-giang"]
    extra = {}
    if role == "producer":
        extra["producer_id"], _product = producer_with_product(app, tenant_id)
    if role == "commune_officer":
        with app.app_context(), tenant_scope(tenant_id):
            extra["unit_id"] = db.session.scalar(select(AdminUnit.id).where(AdminUnit.kind == "commune").limit(1))
    _id, email = create_user(app, tenant_id, roles=(role,), **extra)
    return "tenant", "/bac-giang", email


@pytest.mark.parametrize("role", [*TENANT_ROLES, "national_viewer", "platform_admin"])
def test_each_role_sees_and_opens_exactly_its_menu(app, tenants, live_server, browser, role):
    area, prefix, email = _user(app, tenants, role)
    with app.test_request_context():
        granted = [str(item.label) for item in menu_items_for(_Role(role), area)]
    assert granted == EXPECTED[role]

    with checked_page(browser, viewport={"width": 1280, "height": 900}, locale="vi-VN") as page:
        assert page.goto(f"{live_server}{prefix}/login").status == 200
        page.get_by_label("Email").fill(email)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_load_state()
        assert "/login" not in page.url
        links = page.locator("nav.mainnav a")
        seen = [(links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href")) for i in range(links.count())]
        assert [label for label, _href in seen] == EXPECTED[role]
        for label, href in seen:  # every item it sees opens
            response = page.goto(f"{live_server}{href}")
            assert response.status == 200, (role, label, href, response.status)
            assert page.url.rstrip("/") == f"{live_server}{href}".rstrip("/")

    # Every item of the area's menu it does not see is refused when typed in (403), or, for a producer's
    # dashboard, sends it to its portal.
    client = app.test_client()
    assert login(client, f"{prefix}/login", email).status_code == 302
    hidden = [item for item in MENUS[area] if str(item.label) not in EXPECTED[role]]
    answers = {}
    for item in hidden:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == item.endpoint)
        answers[item.endpoint] = client.get(rule.rule.replace("<tenant_slug>", "bac-giang")).status_code
    allowed = {"dashboard.home": 302} if role == "producer" else {}
    assert answers == {endpoint: allowed.get(endpoint, 403) for endpoint in answers}, answers
