"""Importing 5,000 certified products and seeing them counted (`make bench`).

Figures (printed, and kept in the benchmark's extra_info):
- rows/s of the import through the real job path (workbook kept in S3, `reports` queue, job wrapper);
- seconds from the upload until the dashboard shows the new counts (polled like a browser would);
- the dashboard's time as a ratio to a bare Flask endpoint served the same way (test client) in the
  same run.

Certificates: when the importer reads certificate columns (decision number/date, as the `importer`
branch adds), they come in with the rows; until then each row's certificate is recorded after the
import with `certificate_record` (the service the importer will call) and that time is reported apart.
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
from app.certification.services import certificate_record
from app.extensions import db
from app.registry import importer
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
HEADER_BY_KEY = {c.key: c.template_header for c in importer.COLUMNS}
CERTIFICATE_KEYS = ("decision_no", "decision_date")  # the importer branch's certificate columns


def _row(i: int) -> dict:
    stars = 4 if i % 4 == 0 else 3
    return {
        "product_name": f"Sản phẩm {i:05d}",
        "product_set": SETS[i % len(SETS)],
        "producer_name": f"Chủ thể {i // 2:05d}",
        "kind": ["HTX", "Doanh nghiệp", "Hộ kinh doanh"][i % 3],
        "unit": DISTRICT_COMMUNES[i % len(DISTRICT_COMMUNES)],
        "stars": stars,
        "decision_no": f"{1000 + i}/QĐ-UBND",
        "decision_date": date(2024, 1, 2) + timedelta(days=i % 600),
        "score": (55 if stars == 3 else 75) + i % 10,
    }


def _workbook(rows: list[dict]) -> tuple[bytes, bool]:
    """An import workbook in the template's layout; True when it carries certificate columns."""
    keys = [k for k in ("product_name", "product_set", "producer_name", "kind", "unit", "stars", "score")]
    keys += [k for k in CERTIFICATE_KEYS if k in HEADER_BY_KEY]
    keys = [k for k in keys if k in HEADER_BY_KEY]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([HEADER_BY_KEY[k] for k in keys])
    for row in rows:
        sheet.append([row[k] for k in keys])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), all(k in HEADER_BY_KEY for k in CERTIFICATE_KEYS)


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


def test_import_5000_certified_rows_and_see_them_counted(benchmark, app, tmp_path, sign_in_any):
    slug, tenant_id = province_copy(app, tmp_path, "nam-dinh")
    client = sign_in_any(slug, tenant_id)
    rows = [_row(i) for i in range(ROWS)]
    data, with_certificates = _workbook(rows)
    assert _dashboard_valid(client, slug) == 0

    started = time.perf_counter()
    token = csrf_token(client, f"/{slug}/producers/import/")
    response = client.post(
        f"/{slug}/producers/import/",
        data={"csrf_token": token, "workbook": (io.BytesIO(data), "nam-dinh-5000.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    _work_reports_queue(app)
    imported = time.perf_counter()
    with app.app_context(), tenant_scope(tenant_id):
        report = db.session.scalars(select(RegistryImport)).one()
        assert db.session.scalar(select(func.count()).select_from(Product)) == ROWS, (
            report.status,
            report.error,
            (report.report or {}).get("errors", [])[:3],
        )
        recorded = 0
        if not db.session.scalar(select(func.count()).select_from(Certificate)):
            products = {p.name: p for p in db.session.scalars(select(Product))}
            for row in rows:
                certificate_record(
                    products[row["product_name"]],
                    stars=row["stars"],
                    score=row["score"],
                    decision_number=row["decision_no"],
                    decision_date=row["decision_date"],
                    source="import",
                )
                recorded += 1
            db.session.commit()
    certificates_done = time.perf_counter()
    while _dashboard_valid(client, slug) != ROWS:
        assert time.perf_counter() - started < 600
        time.sleep(0.05)
    counted = time.perf_counter()

    bare = Flask("bare")
    bare.add_url_rule("/", "bare", lambda: "ok")
    bare_client = bare.test_client()
    bare_times = _timings(lambda: bare_client.get("/"), 200)
    dashboard_times = _timings(lambda: client.get(f"/{slug}/"), 20)
    benchmark.pedantic(client.get, args=(f"/{slug}/",), rounds=10, iterations=1)

    info = {
        "rows": ROWS,
        "certificates_in_workbook": with_certificates,
        "import_seconds": round(imported - started, 2),
        "import_rows_per_second": round(ROWS / (imported - started), 1),
        "certificates_recorded_after_import": recorded,
        "certificate_record_seconds": round(certificates_done - imported, 2),
        "seconds_until_dashboard_counts": round(counted - started, 2),
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
