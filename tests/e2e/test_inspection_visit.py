"""On a phone, an inspector opens their queue, records a visit with a photo (a real upload straight to object
storage, verified by a real RQ worker) and a corrective action with a due date; with the clock moved past
that date, a province officer sees the corrective action overdue."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from app.core import clock
from tests.conftest import PASSWORD, checked_page
from tests.factories import certificate_recorded, inspection_planned, producer_with_product, user_of_role

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "vi-VN"}


@pytest.fixture()
def worker(app_env):
    """`python -m jobs.worker` on the test queues (it verifies the uploaded photo)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        cwd=ROOT,
        env={**os.environ, **app_env, "OCOP_ENV": "test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    process.terminate()
    process.wait(timeout=30)


def _sign_in(page, live_server, slug, email):
    assert page.goto(f"{live_server}/{slug}/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/{slug}/**")


def _fits(page) -> None:
    """The document never scrolls sideways on the phone."""
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1


def test_inspector_records_a_visit_on_a_phone_and_the_officer_sees_the_action_overdue(
    app, fresh_tenant, live_server, page, browser, screenshots, worker, tmp_path
):
    tenant_id, slug = fresh_tenant
    _producer_id, product_id = producer_with_product(app, tenant_id, name="Miến dong Bình Liêu")
    certificate_id = certificate_recorded(app, tenant_id, product_id)
    inspector_id, inspector_email = user_of_role(app, tenant_id, "inspector", full_name="Lê Thị Kiểm Tra")
    _officer_id, officer_email = user_of_role(app, tenant_id, "province_officer")
    inspection_planned(
        app,
        tenant_id,
        certificate_id,
        status="assigned",
        inspector_id=inspector_id,
        due_on=clock.today() + timedelta(days=5),
    )
    due = clock.today() + timedelta(days=7)

    _sign_in(page, live_server, slug, inspector_email)
    assert page.goto(f"{live_server}/{slug}/inspections/queue").status == 200
    _fits(page)
    page.get_by_test_id("queue-item").get_by_role("link", name="Miến dong Bình Liêu").click()
    page.wait_for_url(f"{live_server}/{slug}/inspections/*")
    _fits(page)

    # A photo taken on site, straight to storage, then verified by the worker.
    photo = tmp_path / "co-so.png"
    Image.new("RGB", (64, 48), (30, 120, 60)).save(photo)
    upload = page.locator("form[data-upload]").filter(has=page.locator("input[value=inspection_photo]"))
    upload.locator("input[type=file]").set_input_files(str(photo))
    upload.get_by_role("button", name="Tải lên").click()
    upload.get_by_text("Tệp đã được kiểm tra và chấp nhận.").wait_for(timeout=60_000)

    # A corrective action with its due date.
    actions = page.get_by_test_id("action-form")
    actions.get_by_label("Nội dung cần khắc phục").fill("Bổ sung nhãn phụ tiếng Việt")
    actions.get_by_label("Hạn khắc phục (dd/mm/yyyy)").fill(due.strftime("%d/%m/%Y"))
    actions.get_by_role("button", name="Thêm yêu cầu khắc phục").click()
    page.get_by_text("Đã ghi yêu cầu khắc phục.").wait_for()
    assert "co-so.png" in page.get_by_test_id("attachments").inner_text()

    # The checklist, the outcome: the visit is done.
    visit = page.get_by_test_id("visit")
    for radio in visit.locator("input[type=radio][value=yes]").all():
        radio.check()
    visit.get_by_label("Kết quả").select_option("minor")
    visit.get_by_role("button", name="Lưu biên bản").click()
    page.get_by_text("Đã ghi kết quả kiểm tra.").wait_for()
    assert page.get_by_test_id("outcome").inner_text() == "Lỗi nhẹ"
    assert "Bổ sung nhãn phụ tiếng Việt" in page.get_by_test_id("actions").inner_text()
    _fits(page)
    page.screenshot(path=str(screenshots / "inspection-visit-phone.png"), full_page=True)

    # The day after the due date (the live server runs in this process: it reads the same clock).
    with clock.frozen(due + timedelta(days=1)), checked_page(browser, **PHONE) as officer:
        _sign_in(officer, live_server, slug, officer_email)
        assert officer.goto(f"{live_server}/{slug}/inspections/overdue").status == 200
        row = officer.get_by_test_id("overdue-action")
        assert row.count() == 1
        assert "Bổ sung nhãn phụ tiếng Việt" in row.inner_text() and "Quá hạn 1 ngày" in row.inner_text()
        _fits(officer)
        officer.screenshot(path=str(screenshots / "inspection-overdue-phone.png"), full_page=True)
