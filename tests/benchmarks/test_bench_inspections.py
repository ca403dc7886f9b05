"""Scheduling the inspections of 60,000 certificates across 34 provinces (`make bench`).

Self-contained: 34 new provinces are created in the test database and their producers, products and
certificates are inserted set-wise (as the app role, inside each tenant, RLS on). Certificates are
spread over the last 35 months (all valid today), over stars 3/4/5 with matching scores (a third of the
3★ are "3 sao non", 50–59) and over product sets of groups I–VI, so every policy rule is exercised. When
the national data generator exists, `_certified_provinces` can be swapped for it: the timed part only
needs tenant ids whose certificates are in the database.

Timed, through the real job path (the per-tenant scheduling job queued by id and run by an RQ worker
with the job wrapper — one statement per tenant):
- the first run, which plans every inspection;
- a re-run, which must create nothing.
Both times and the rows created are printed and kept in the benchmark's extra_info.
Aim (issue 9): ≤ 10 s and ≤ 3 s.
"""

from __future__ import annotations

import time

from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select, text

from app.extensions import db
from app.inspection.models import Inspection
from app.inspection.services import inspection_schedule_enqueue
from jobs.queues import QUEUE_NAMES, get_queue, redis_connection
from tenants.context import tenant_scope
from tests.factories import new_tenant

PROVINCES = 34
CERTIFICATES = 60_000
SETS = ["I.1.1", "I.2.1", "I.3.1", "II.1.1", "III.1.1", "IV.1.1", "V.1.1", "VI.1.1"]

SEED = """
WITH producers_made AS (
    INSERT INTO producers (tenant_id, name, kind, address, representative)
    SELECT :t, 'Chủ thể ' || g, (ARRAY['htx','enterprise','household'])[1 + g % 3], '', ''
    FROM generate_series(1, (:n + 1) / 2) g
    RETURNING id
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS k FROM producers_made
), products_made AS (
    INSERT INTO products (tenant_id, producer_id, name, product_set_id, other_units, raw_material_area, capacity,
                          markets, export_countries, traceability, trademark_status)
    SELECT :t, p.id, 'Sản phẩm ' || g, (SELECT id FROM taxonomy_nodes WHERE act = '148/QĐ-TTg'
                                        AND code = (CAST(:sets AS text[]))[1 + g % cardinality(CAST(:sets AS text[]))]),
           '', '', '', '', '{}', '', 'none'
    FROM generate_series(1, :n) g JOIN numbered p ON p.k = (g + 1) / 2
    RETURNING id
)
INSERT INTO certificates (tenant_id, product_id, stars, score, decision_number, decision_date, authority, act,
                          kind, source, valid_from, valid_to, public_code)
SELECT :t, s.id, s.stars,
       CASE s.stars WHEN 3 THEN 50 + (s.id % 20) WHEN 4 THEN 70 + (s.id % 20) ELSE 90 + (s.id % 10) END,
       s.id || '/QĐ-UBND', s.decided, 'province', '148/QĐ-TTg', 'new', 'import',
       s.decided, (s.decided + interval '36 months')::date, replace(gen_random_uuid()::text, '-', '')
FROM (
    SELECT id, CASE WHEN id % 10 < 7 THEN 3 WHEN id % 10 < 9 THEN 4 ELSE 5 END AS stars,
           (current_date - (id % 1060)::integer) AS decided
    FROM products_made
) s
"""


def _certified_provinces(app) -> list[int]:
    """34 new provinces sharing 60,000 certificates, inserted set-wise."""
    tenant_ids = [new_tenant(app)[0] for _ in range(PROVINCES)]
    with app.app_context():
        for index, tenant_id in enumerate(tenant_ids):
            count = CERTIFICATES // PROVINCES + (1 if index < CERTIFICATES % PROVINCES else 0)
            with tenant_scope(tenant_id):
                db.session.execute(text(SEED), {"t": tenant_id, "n": count, "sets": SETS})
                db.session.commit()
    return tenant_ids


def _schedule_all(app, tenant_ids) -> dict:
    """Queue every province's scheduling job and run them with a worker; returns the summed counts."""
    with app.app_context():
        for name in QUEUE_NAMES:
            get_queue(name).empty()
        queue = get_queue("scheduling")
        jobs = [inspection_schedule_enqueue(tenant_id) for tenant_id in tenant_ids]
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        assert FailedJobRegistry(queue=queue).get_job_ids() == []
        totals = {"created": 0, "moved": 0, "cancelled": 0}
        for job in jobs:
            job.refresh()
            for key, value in job.return_value().items():
                totals[key] += value
            job.delete()
        return totals


def _count(app, tenant_ids) -> tuple[int, int]:
    certificates = inspections = 0
    with app.app_context():
        for tenant_id in tenant_ids:
            with tenant_scope(tenant_id):
                certificates += db.session.scalar(text("SELECT count(*) FROM certificates"))
                inspections += db.session.scalar(select(func.count()).select_from(Inspection))
            db.session.commit()
    return certificates, inspections


def test_schedule_inspections_for_60000_certificates_in_34_provinces(benchmark, app):
    tenant_ids = _certified_provinces(app)
    certificates, before = _count(app, tenant_ids)
    assert (certificates, before) == (CERTIFICATES, 0)

    started = time.perf_counter()
    first = _schedule_all(app, tenant_ids)
    first_seconds = time.perf_counter() - started
    _certs, planned = _count(app, tenant_ids)
    assert first["created"] == planned > CERTIFICATES * 2  # routine + expiry review each, sampling for food

    started = time.perf_counter()
    second = _schedule_all(app, tenant_ids)
    rerun_seconds = time.perf_counter() - started
    assert second == {"created": 0, "moved": 0, "cancelled": 0}
    assert _count(app, tenant_ids)[1] == planned

    benchmark.extra_info.update(
        {
            "certificates": CERTIFICATES,
            "provinces": PROVINCES,
            "first_run_seconds": round(first_seconds, 2),
            "first_run_rows_created": first["created"],
            "rerun_seconds": round(rerun_seconds, 2),
            "rerun_rows_created": second["created"],
        }
    )
    print(
        f"\ninspections: {CERTIFICATES} certificates in {PROVINCES} provinces — first run {first_seconds:.2f} s, "
        f"{first['created']} rows created; re-run {rerun_seconds:.2f} s, {second['created']} rows created"
    )
    # One more re-run under pytest-benchmark's timer (the steady state the cron sweep sees).
    benchmark.pedantic(_schedule_all, args=(app, tenant_ids), rounds=1, iterations=1)
