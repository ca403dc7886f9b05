"""On a phone: the bell, the notices list (mark read), the outbox and the jobs page (retry a failed job)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.notices.services import notice_create
from tenants.context import tenant_scope
from tests import factories
from tests.conftest import PASSWORD
from tests.notices.test_jobs_page import failed_job_of

pytestmark = pytest.mark.e2e


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1


def test_an_admin_reads_notices_and_retries_a_failed_job_on_a_phone(app, fresh_tenant, live_server, page):
    tenant_id, slug = fresh_tenant
    user_id, email = factories.user_of_role(app, tenant_id, "province_admin")
    with app.app_context(), tenant_scope(tenant_id):
        for i in range(3):
            notice_create(
                "certificate_expiry",
                f"e2e:{i}",
                "90d",
                params={"product": f"Miến dong {i}", "producer": "HTX Thử", "valid_to": "2027-03-05", "days_left": 90},
                user_ids=[user_id],
                emails=["mot-dia-chi-rat-dai-cua-chu-the-san-xuat@example.vn"],
            )
        db.session.commit()
    job_id = failed_job_of(app, tenant_id)

    assert page.goto(f"{live_server}/{slug}/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/{slug}/")
    assert page.get_by_test_id("unread-count").inner_text() == "3"

    page.get_by_test_id("bell").click()
    page.wait_for_url(f"{live_server}/{slug}/notices/")
    assert page.get_by_test_id("notice").count() == 3
    _fits(page)
    page.get_by_role("button", name="Đã đọc", exact=True).first.click()
    page.wait_for_url(f"{live_server}/{slug}/notices/?page=1")
    assert page.get_by_test_id("unread-count").inner_text() == "2"

    assert page.goto(f"{live_server}/{slug}/notices/outbox").status == 200
    assert page.get_by_test_id("outbox-row").count() == 3
    _fits(page)

    assert page.goto(f"{live_server}/{slug}/jobs/?state=failed").status == 200
    row = page.locator(f'[data-job-id="{job_id}"]')
    assert "hỏng máy chủ" in row.inner_text()
    _fits(page)
    row.get_by_test_id("retry").click()
    page.wait_for_url(f"{live_server}/{slug}/jobs/?state=failed")
    assert "Đã đưa công việc vào hàng đợi để chạy lại." in page.content()
    assert page.locator(f'[data-job-id="{job_id}"]').count() == 0  # queued again, no longer failed
