"""Importing 5,000 certified products and seeing them counted (`make bench`).

Figures (printed, and kept in the benchmark's extra_info):
- rows/s of the import through the real job path (workbook kept in S3, `reports` queue, job wrapper);
- seconds from the upload until the dashboard shows the new counts (polled like a browser would);
- the dashboard's time as a ratio to a bare Flask endpoint served the same way (test client) in the
  same run.

Every row carries its certificate (stars, score, decision number and date): they come in with the
rows, by the import's own rules (a row in completely or not at all, idempotent). A re-import of the
same file (nothing changes) is timed too.
"""

from __future__ import annotations

import io
import re
import time
from datetime import date, timedelta

from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, select

from app.certification.models import Certificate
from app.exchange.columns import COLUMNS
from app.extensions import db
from app.registry.models import Product, RegistryImport
from tenants.context import tenant_scope
from tests.conftest import csrf_token
from tests.dashboard.conftest import province_copy

ROWS = 5000
DISTRICT_COMMUNES = [
    "Xã Mỹ Hà",
    "Xã Kim Thái",
    "Thị trấn Gôi",
    "Xã Yên Thọ",
    "Xã Nghĩa Châu",
    "Xã Nam Cường",
    "Xã Xuân Châu",
    "Xã Giao Thiện",
    "Thị trấn Yên Định",
]
SETS = ["I.1.1", "I.2.1", "I.3.1", "II.1.1", "I.5.1"]
HEADER_BY_KEY = {c.key: c.template_header for c in COLUMNS}


def _row(i: int) -> dict:
    stars = 4 if i % 4 == 0 else 3
    return {
        "product_name": f"Sản phẩm {i:05d}",
        "product_set": SETS[i % len(SETS)],
        "producer_name": f"Chủ thể {i // 2:05d}",
        # Two products per producer: its rows agree on the producer's kind and commune.
        "kind": ["HTX", "Doanh nghiệp", "Hộ kinh doanh"][(i // 2) % 3],
        "unit": DISTRICT_COMMUNES[(i // 2) % len(DISTRICT_COMMUNES)],
        "stars": stars,
        "decision_no": f"{1000 + i}/QĐ-UBND",
        "decision_date": date(2024, 1, 2) + timedelta(days=i % 600),
        "score": (55 if stars == 3 else 75) + i % 10,
    }


def _workbook(rows: list[dict]) -> bytes:
    """An import workbook in the template's layout, with the certificate columns."""
    keys = ("product_name", "product_set", "producer_name", "kind", "unit", "stars", "score", "decision_no")
    keys += ("decision_date",)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([HEADER_BY_KEY[k] for k in keys])
    for row in rows:
        sheet.append([row[k] for k in keys])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _work_reports_queue(app):
    from rq import SimpleWorker
    from rq.registry import FailedJobRegistry

    from jobs.queues import get_queue, redis_connection

    with app.app_context():
        queue = get_queue("reports")
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        assert FailedJobRegistry(queue=queue).get_job_ids() == []


def _dashboard_valid(client, slug: str) -> int:
    page = client.get(f"/{slug}/").get_data(as_text=True)
    return int(re.search(r'data-testid="count-valid">([\d.]+)<', page).group(1).replace(".", ""))


def _upload(client, slug: str, data: bytes) -> None:
    token = csrf_token(client, f"/{slug}/producers/import/")
    response = client.post(
        f"/{slug}/producers/import/",
        data={"csrf_token": token, "workbook": (io.BytesIO(data), "nam-dinh-5000.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_import_5000_certified_rows_and_see_them_counted(benchmark, app, tmp_path, sign_in):
    slug, tenant_id = province_copy(app, tmp_path, "nam-dinh")
    client = sign_in(slug, tenant_id)
    rows = [_row(i) for i in range(ROWS)]
    data = _workbook(rows)
    assert _dashboard_valid(client, slug) == 0

    started = time.perf_counter()
    _upload(client, slug, data)
    _work_reports_queue(app)  # the real job path: workbook from S3, the job wrapper, one transaction
    imported = time.perf_counter()
    with app.app_context(), tenant_scope(tenant_id):
        report = db.session.scalars(select(RegistryImport)).one()
        assert report.status == "done", report.error
        assert (report.report["errors"], report.report["certificates"]) == ([], ROWS)
        assert db.session.scalar(select(func.count()).select_from(Product)) == ROWS
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == ROWS
    while _dashboard_valid(client, slug) != ROWS:
        assert time.perf_counter() - started < 600
        time.sleep(0.05)
    counted = time.perf_counter()

    again = time.perf_counter()
    _upload(client, slug, data)
    _work_reports_queue(app)
    reimported = time.perf_counter()
    with app.app_context(), tenant_scope(tenant_id):
        second = db.session.scalars(select(RegistryImport).order_by(RegistryImport.id.desc()).limit(1)).one()
        assert (second.report["unchanged"], second.report["errors"]) == (ROWS, [])
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == ROWS

    bare = Flask("bare")
    bare.add_url_rule("/", "bare", lambda: "ok")
    bare_client = bare.test_client()
    bare_times = _timings(lambda: bare_client.get("/"), 200)
    dashboard_times = _timings(lambda: client.get(f"/{slug}/"), 20)
    benchmark.pedantic(client.get, args=(f"/{slug}/",), rounds=10, iterations=1)

    info = {
        "rows": ROWS,
        "import_seconds": round(imported - started, 2),
        "import_rows_per_second": round(ROWS / (imported - started), 1),
        "seconds_until_dashboard_counts": round(counted - started, 2),
        "reimport_unchanged_seconds": round(reimported - again, 2),
        "reimport_rows_per_second": round(ROWS / (reimported - again), 1),
        "dashboard_median_ms": round(dashboard_times * 1000, 2),
        "bare_flask_median_ms": round(bare_times * 1000, 3),
        "dashboard_to_bare_ratio": round(dashboard_times / bare_times, 1),
    }
    benchmark.extra_info.update(info)
    print("\n" + "\n".join(f"{k}: {v}" for k, v in info.items()))


def _timings(call, rounds: int) -> float:
    """Median seconds of `rounds` calls."""
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        assert call().status_code == 200
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]
