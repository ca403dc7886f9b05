"""upload.js in Debian's Chromium: browser → presign → straight to SeaweedFS → confirm → verification shown.

The page is a test page that only renders the upload macro (pages of other features include it the
same way); the verification job runs in this process when the page says the upload is pending.
"""

from __future__ import annotations

import threading

import pytest
from flask import render_template_string
from werkzeug.serving import make_server

from app.core.access import login_required
from tenants.resolution import tenant_blueprint
from tests.conftest import PASSWORD, checked_page, create_user, make_app
from tests.documents.conftest import HTML, load, pdf_bytes, sha256, work_documents_queue
from tests.factories import producer_with_product

pytestmark = pytest.mark.e2e

PAGE = """{% extends "base.html" %}{% from "documents/_upload.html" import upload_form %}
{% block content %}<h1>Thử tải lên</h1>{{ upload_form("test_report", product_id=product_id) }}{% endblock %}"""


@pytest.fixture()
def page(browser):
    with checked_page(browser, viewport={"width": 390, "height": 844}, locale="vi-VN", accept_downloads=True) as page:
        yield page


@pytest.fixture(scope="module")
def upload_server(app, app_env):
    """Another app on the same services, with one extra page showing the upload form."""
    application = make_app(app_env)
    bp = tenant_blueprint("upload_page", __name__, url_prefix="/upload-page")

    @bp.route("/<int:product_id>")
    @login_required
    def show(product_id):
        return render_template_string(PAGE, product_id=product_id)

    application.register_blueprint(bp)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_upload_js_sends_the_file_to_storage_and_shows_the_verification(
    app, tenants, upload_server, page, tmp_path, documents_queue
):
    slug = "bac-giang"
    producer_id, product_id = producer_with_product(app, tenants[slug])
    _uid, email = create_user(app, tenants[slug], roles=("producer",), producer_id=producer_id)
    problems = []
    # (Failed loads are expected: the favicon, and the refused presign below.)
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text or "Refused" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))

    assert page.goto(f"{upload_server}/{slug}/login").status == 200
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    assert page.goto(f"{upload_server}/{slug}/upload-page/{product_id}").status == 200
    page.evaluate("""() => { window.uploadEvents = [];
        document.addEventListener('document:accepted', e => window.uploadEvents.push(e.detail));
        document.addEventListener('document:rejected', e => window.uploadEvents.push(e.detail)); }""")
    form = page.locator("form[data-upload]")
    status = form.locator("[data-upload-status]")

    def upload(path, expected_state):
        form.locator("input[type=file]").set_input_files(str(path))
        form.get_by_role("button", name="Tải lên").click()
        page.wait_for_selector(f"form[data-upload][data-upload-state='{expected_state}']", timeout=15_000)

    # A real PDF: pending, verified by the job, accepted, downloadable with its own name.
    pdf = tmp_path / "Phiếu kiểm nghiệm.pdf"
    pdf.write_bytes(pdf_bytes())
    upload(pdf, "pending")
    work_documents_queue(app)
    page.wait_for_selector("form[data-upload][data-upload-state='accepted']", timeout=15_000)
    assert status.inner_text().startswith("Tệp đã được kiểm tra và chấp nhận.")
    accepted = page.evaluate("window.uploadEvents")[-1]
    assert accepted["status"] == "accepted" and accepted["filename"] == "Phiếu kiểm nghiệm.pdf"
    document = load(app, tenants[slug], accepted["id"])
    assert (document.product_id, document.sha256) == (product_id, sha256(pdf_bytes()))
    with page.expect_download() as download:
        status.get_by_role("link").click()
    assert download.value.suggested_filename == "Phiếu kiểm nghiệm.pdf"
    assert open(download.value.path(), "rb").read() == pdf_bytes()

    # HTML disguised as a PDF: stored, then rejected with the reason shown.
    fake = tmp_path / "bao-cao.pdf"
    fake.write_bytes(HTML)
    upload(fake, "pending")
    work_documents_queue(app)
    page.wait_for_selector("form[data-upload][data-upload-state='rejected']", timeout=15_000)
    assert status.inner_text() == "Tệp bị từ chối: Tệp HTML/SVG không được chấp nhận"

    # A type outside the allowlist never gets a form: the server's message is shown.
    svg = tmp_path / "logo.svg"
    svg.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    upload(svg, "error")
    assert status.inner_text().startswith("Loại tệp không được chấp nhận.")

    assert problems == []  # no CSP violation, no script error
