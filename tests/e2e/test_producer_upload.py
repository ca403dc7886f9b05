"""A producer signs in on a phone, registers an idea, uploads a PDF straight to storage and sees it
accepted once the verification job (a real RQ worker process) has checked it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, create_user, open_cycle_around_today
from tests.documents.conftest import pdf_bytes
from tests.factories import producer_with_product

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def worker(app_env):
    """`python -m jobs.worker` on the test queues, as `make run` starts it."""
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


def _producer_with_product(app, tenant_id):
    open_cycle_around_today(app, tenant_id)
    producer_id, _product_id = producer_with_product(app, tenant_id, name="Chè búp Bắc Kạn", set_code="I.1.1")
    return producer_id


def test_producer_registers_idea_and_uploads_evidence(app, tenants, live_server, page, screenshots, worker, tmp_path):
    producer_id = _producer_with_product(app, tenants["bac-kan"])
    _uid, email = create_user(
        app, tenants["bac-kan"], roles=("producer",), producer_id=producer_id, full_name="Hoàng Văn Chủ Thể"
    )
    assert page.goto(f"{live_server}/bac-kan/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/bac-kan/portal/")

    page.get_by_test_id("register-idea").click()
    page.get_by_label("Sản phẩm", exact=True).select_option(label="Chè búp Bắc Kạn")
    page.get_by_label("Loại đánh giá").select_option("new")
    page.get_by_label("Ý tưởng sản phẩm (với đánh giá mới)").fill("Chè búp khô đóng túi lọc")
    page.get_by_role("button", name="Gửi đăng ký").click()
    page.wait_for_url(f"{live_server}/bac-kan/applications/*")
    assert page.get_by_test_id("application-status").inner_text() == "Đã gửi ý tưởng"

    pdf = tmp_path / "phieu-kiem-nghiem.pdf"
    pdf.write_bytes(pdf_bytes())  # a real PDF: verification parses it
    row = page.get_by_test_id("req-test_report")
    progress = page.get_by_test_id("checklist-progress")
    done_before = int(progress.locator("[data-checklist-done]").inner_text())
    assert row.locator(".tag-missing").inner_text() == "Còn thiếu"
    row.locator("input[type=file]").set_input_files(str(pdf))
    row.get_by_role("button", name="Tải lên").click()
    row.get_by_text("Tệp đã được kiểm tra và chấp nhận.").wait_for(timeout=30_000)
    # The row and the count follow without a reload.
    assert row.locator("[data-badge] .tag-accepted").inner_text() == "Đạt"
    assert int(progress.locator("[data-checklist-done]").inner_text()) == done_before + 1
    assert page.reload().status == 200
    assert "Đạt" in page.get_by_test_id("req-test_report").inner_text()
    assert "phieu-kiem-nghiem.pdf" in page.get_by_test_id("req-test_report").inner_text()
    page.screenshot(path=str(screenshots / "producer-application-phone.png"), full_page=True)
