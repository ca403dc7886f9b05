"""The import page: template download, upload, the row-by-row report."""

from __future__ import annotations

import io
from datetime import UTC

from openpyxl import load_workbook

from tests.conftest import csrf_token


def _work_reports_queue(app):
    from rq import SimpleWorker
    from rq.registry import FailedJobRegistry

    from jobs.queues import get_queue, redis_connection

    with app.app_context():
        queue = get_queue("reports")
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        assert FailedJobRegistry(queue=queue).get_job_ids() == []


def test_officer_downloads_template_fills_it_and_sees_the_report(app, officer_login):
    officer, _uid, _email = officer_login("nam-dinh")
    template = officer.get("/nam-dinh/producers/import/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    workbook = load_workbook(io.BytesIO(template.data))
    sheet = workbook.worksheets[0]
    headers = [c.value for c in sheet[1]]
    values = {
        "Tên sản phẩm*": "Nước mắm Giao Châu",
        "Bộ sản phẩm*": "I.3.1",
        "Tên chủ thể*": "Cơ sở nước mắm Giao Châu",
        "Loại hình chủ thể*": "Hộ kinh doanh",
    }
    sheet.append([values.get(h) for h in headers])
    sheet.append([("Không rõ" if h == "Loại hình chủ thể*" else values.get(h)) for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    token = csrf_token(officer, "/nam-dinh/producers/import/")
    response = officer.post(
        "/nam-dinh/producers/import/",
        data={"csrf_token": token, "workbook": (io.BytesIO(buffer.getvalue()), "san-pham.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    status_url = response.headers["Location"]
    waiting = officer.get(status_url).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and 'http-equiv="refresh"' in waiting
    _work_reports_queue(app)
    page = officer.get(status_url).get_data(as_text=True)
    assert 'data-status="done"' in page and 'data-testid="import-report"' in page
    assert "Loại hình chủ thể không hợp lệ" in page and 'http-equiv="refresh"' not in page
    assert "Nước mắm Giao Châu" in officer.get("/nam-dinh/products?q=nuoc+mam").get_data(as_text=True)


def test_a_file_that_is_not_a_workbook_fails_with_a_message(app, officer_login):
    officer, _uid, _email = officer_login("nam-dinh")
    token = csrf_token(officer, "/nam-dinh/producers/import/")
    response = officer.post(
        "/nam-dinh/producers/import/",
        data={"csrf_token": token, "workbook": (io.BytesIO(b"not a workbook"), "sai.xlsx")},
        content_type="multipart/form-data",
    )
    status_url = response.headers["Location"]
    _work_reports_queue(app)
    page = officer.get(status_url).get_data(as_text=True)
    assert 'data-status="failed"' in page and "không phải là tệp Excel" in page


def test_an_import_whose_job_was_lost_runs_again(app, tenants, officer_login):
    from datetime import datetime, timedelta

    from app.exchange.jobs import requeue_stalled_imports_everywhere
    from app.exchange.services import import_submit
    from app.exchange.template import import_template
    from app.extensions import db
    from app.registry.models import RegistryImport
    from jobs.queues import get_queue
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenants["bac-kan"]):
        record = import_submit(import_template(), "mat-job.xlsx", None)
        record.created_at = datetime.now(UTC) - timedelta(minutes=30)
        db.session.commit()
        import_id = record.id
        get_queue("reports").empty()  # the job is lost
    with app.app_context():
        requeue_stalled_imports_everywhere()
    _work_reports_queue(app)  # the per-tenant reconcilers, then the import they queued
    _work_reports_queue(app)
    with app.app_context(), tenant_scope(tenants["bac-kan"]):
        assert db.session.get(RegistryImport, (tenants["bac-kan"], import_id)).status == "done"


def test_an_oversized_upload_is_refused_before_it_is_read(officer_login):
    officer, _uid, _email = officer_login("bac-kan")
    token = csrf_token(officer, "/bac-kan/producers/import/")
    response = officer.post(
        "/bac-kan/producers/import/",
        data={"csrf_token": token, "workbook": (io.BytesIO(b"x" * (13 * 1024 * 1024)), "lon.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and "Tệp quá lớn" in response.get_data(as_text=True)
