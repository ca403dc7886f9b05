"""Import speed (`make bench`): 5,000 certified rows of a province's list, first import and re-import.

Prints rows/s for both; the aim (issue 11) is ≥ 1,000 rows/s with every guarantee kept (a row in
completely or not at all, a row-by-row report, an idempotent re-import).
"""

from __future__ import annotations

import time
import uuid

import pytest

from app.exchange.writer import import_workbook
from app.extensions import db
from tenants.context import tenant_scope
from tests.exchange.workbooks import certified_list, certified_rows

ROWS = 5000
pytestmark = pytest.mark.timeout(3600)  # the pre-batching writer needs minutes on a loaded machine


def test_import_5000_rows(app, tenants):
    rows = certified_rows(f"B{uuid.uuid4().hex[:6]}", "nam-dinh", three=4000, four=ROWS - 4000, producers=1500)
    data = certified_list(rows)
    figures = {}
    for attempt in ("first import", "re-import (unchanged)"):
        with app.app_context(), tenant_scope(tenants["nam-dinh"]):
            started = time.perf_counter()
            report = import_workbook(data)
            db.session.commit()
            seconds = time.perf_counter() - started
        assert report.rows == ROWS and not report.failed_rows, report.errors[:3]
        figures[attempt] = (seconds, ROWS / seconds, report.created_products)
    print()
    for attempt, (seconds, rate, created) in figures.items():
        print(f"import, {attempt}: {ROWS} rows in {seconds:.1f} s = {rate:.0f} rows/s ({created} products created)")
