"""National statistics and a province's indicators page under 16 concurrent clients (`make bench`).

Data: a synthetic nation built set-wise in the bench (PROVINCES provinces, PRODUCTS products with three
certificates each where their dates allow: recognition, re-recognition/upgrade, again; a chain of
superseded certificates as the service keeps it), unless OCOP_BENCH_NATIONAL_DATASET=existing, when the
bench uses what is already in the database (the national generator's `demo generate --scale national`,
run against the bench database first).

Measured and printed (never asserted: timings are not tests): p50/p95 of `/national/statistics` and of a
province's `/<slug>/indicators` under 16 concurrent keep-alive clients (aims ≤ 50 ms and ≤ 100 ms), their
throughput as a ratio of a bare Flask endpoint served by the same server to the same 16 clients in the
same run, and the time to refresh the national roll-up (REFRESH MATERIALIZED VIEW CONCURRENTLY).
"""

from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import text

from app.extensions import db
from tenants.context import tenant_scope
from tests import factories
from tests.benchmarks.test_bench_verify import _served
from tests.conftest import create_account, login

PROVINCES = int(os.environ.get("OCOP_BENCH_PROVINCES", "34"))
PRODUCTS = int(os.environ.get("OCOP_BENCH_PRODUCTS", "20000"))
CLIENTS = 16
PER_CLIENT = int(os.environ.get("OCOP_BENCH_REQUESTS", "40"))

UNITS_SQL = """
INSERT INTO admin_units (tenant_id, code, name, kind, parent_id, is_sample)
SELECT :tenant, 'bench-d' || d, 'Huyện thử ' || d, 'district', NULL, false FROM generate_series(1, 10) d
"""
PRODUCERS_SQL = """
INSERT INTO producers (tenant_id, name, kind, address, representative)
SELECT :tenant, 'Chủ thể thử ' || i, (ARRAY['htx', 'enterprise', 'coop_group', 'household'])[1 + i % 4], '', ''
FROM generate_series(1, :producers) i
"""
PRODUCTS_SQL = """
INSERT INTO products (tenant_id, producer_id, name, product_set_id, unit_id, other_units, raw_material_area, capacity,
  markets, export_countries, traceability, trademark_status)
SELECT :tenant, pr.id, 'Sản phẩm thử ' || i, s.id, u.id, '', '', '', '', '{}',
  CASE WHEN i % 3 = 0 THEN 'QR' ELSE '' END, 'none'
FROM generate_series(1, :products) i
JOIN LATERAL (SELECT id FROM producers WHERE tenant_id = :tenant ORDER BY id OFFSET (i % :producers) LIMIT 1) pr ON true
JOIN LATERAL (SELECT id FROM taxonomy_nodes WHERE act = '148/QĐ-TTg' AND level = 'set'
              ORDER BY id OFFSET (i % 26) LIMIT 1) s ON true
JOIN LATERAL (SELECT id FROM admin_units WHERE tenant_id = :tenant AND code LIKE 'bench-d%'
              ORDER BY id OFFSET (i % 10) LIMIT 1) u ON true
"""
# Up to three decisions per product, 36 months apart, the first spread over 2016-2023.
CERTIFICATES_SQL = """
INSERT INTO certificates (tenant_id, product_id, stars, decision_number, decision_date, authority, act, kind, source,
  valid_from, valid_to, public_code)
SELECT p.tenant_id, p.id, LEAST(3 + (k - 1) * (p.id % 2) + (CASE WHEN p.id % 97 = 0 THEN 1 ELSE 0 END), 5),
  'B' || p.id || '-' || k || '/QĐ-UBND', d, 'province', '148/QĐ-TTg',
  CASE WHEN k = 1 THEN 'new' WHEN p.id % 2 = 1 THEN 'upgrade' ELSE 're_recognition' END, 'import',
  d, (d + interval '36 months')::date, replace(gen_random_uuid()::text, '-', '')
FROM products p
CROSS JOIN generate_series(1, 3) k
CROSS JOIN LATERAL (SELECT (date '2016-01-01' + (p.id * 7919 % 2900)::int + (k - 1) * 1096) AS d) dd
WHERE p.tenant_id = :tenant AND d <= :today
"""
CHAIN_SQL = """
UPDATE certificates c SET superseded_by_id = n.id, superseded_on = n.valid_from
FROM certificates n
WHERE c.tenant_id = :tenant AND n.tenant_id = :tenant AND n.product_id = c.product_id
  AND n.decision_number = replace(c.decision_number, '-' || split_part(split_part(c.decision_number, '-', 2), '/', 1)
      || '/', '-' || (split_part(split_part(c.decision_number, '-', 2), '/', 1)::int + 1) || '/')
"""


def _build(app) -> list[tuple[int, str]]:
    from app.core import clock

    provinces = []
    per_province = max(1, PRODUCTS // PROVINCES)
    for _ in range(PROVINCES):
        tenant_id, slug = factories.new_tenant(app)
        with app.app_context(), tenant_scope(tenant_id):
            params = {"tenant": tenant_id, "producers": max(1, per_province * 45 // 100), "products": per_province}
            for sql in (UNITS_SQL, PRODUCERS_SQL, PRODUCTS_SQL):
                db.session.execute(text(sql), params)
            db.session.execute(text(CERTIFICATES_SQL), {"tenant": tenant_id, "today": clock.today()})
            db.session.execute(text(CHAIN_SQL), {"tenant": tenant_id})
            db.session.commit()
        provinces.append((tenant_id, slug))
    return provinces


def _existing(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(text("SELECT id, slug FROM tenants WHERE is_active ORDER BY id"))]


def _cookie(client) -> str:
    cookie = client.get_cookie("ocop_session")
    return f"ocop_session={cookie.value}"


def _load(url: str, cookie: str) -> tuple[list[float], float]:
    """CLIENTS threads, each PER_CLIENT GETs on its own keep-alive connection: (latencies in ms, requests/s)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS + 1)
    errors: list[int] = []

    def run():
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        headers = {"Cookie": cookie} if cookie else {}
        for _ in range(3):  # warm-up
            connection.request("GET", path, headers=headers)
            connection.getresponse().read()
        barrier.wait()
        mine = []
        for _ in range(PER_CLIENT):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                errors.append(response.status)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert not errors, errors[:5]
    return latencies, len(latencies) / elapsed


def _summary(latencies: list[float], rps: float) -> dict:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 1),
        "rps": round(rps, 1),
    }


def test_national_and_province_pages_under_16_clients(benchmark, app):
    started = time.perf_counter()
    existing = os.environ.get("OCOP_BENCH_NATIONAL_DATASET") == "existing"
    provinces = _existing(app) if existing else _build(app)
    build_s = time.perf_counter() - started
    with app.app_context():
        refresh = []
        for _ in range(3):
            t0 = time.perf_counter()
            db.session.execute(text("SELECT national.refresh_rollups()"))
            db.session.commit()
            refresh.append(time.perf_counter() - t0)
    tenant_id, slug = provinces[len(provinces) // 2]
    with app.app_context(), tenant_scope(tenant_id):
        size = db.session.execute(
            text("SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM certificates)")
        ).one()
    _aid, email = create_account(app, "national_viewer")
    national = app.test_client()
    assert login(national, "/national/login", email).status_code == 302
    _uid, officer_email = factories.user_of_role(app, tenant_id, "province_officer")
    officer = factories.signed_in(app, slug, officer_email)

    bare = Flask("bare")
    bare.add_url_rule("/", "bare", lambda: "ok")
    with _served(bare) as bare_base, _served(app) as app_base:
        bare_lat, bare_rps = _load(bare_base + "/", "")
        nat_lat, nat_rps = _load(app_base + "/national/statistics", _cookie(national))
        prov_lat, prov_rps = _load(f"{app_base}/{slug}/indicators", _cookie(officer))
        get = http.client.HTTPConnection(urlsplit(app_base).hostname, urlsplit(app_base).port)

        def one():
            get.request("GET", "/national/statistics", headers={"Cookie": _cookie(national)})
            return get.getresponse().read()

        benchmark.pedantic(one, rounds=20, iterations=1)
    info = {
        "provinces": len(provinces),
        "dataset": "existing" if existing else f"built in bench ({build_s:.1f} s)",
        "one_province_products_certificates": tuple(size),
        "refresh_rollup_s": [round(r, 3) for r in refresh],
        "bare": _summary(bare_lat, bare_rps),
        "national_statistics": _summary(nat_lat, nat_rps),
        "province_indicators": _summary(prov_lat, prov_rps),
        "national_to_bare": f"{nat_rps / bare_rps:.1%}",
        "province_to_bare": f"{prov_rps / bare_rps:.1%}",
    }
    benchmark.extra_info.update({k: str(v) for k, v in info.items()})
    print(f"\nnational bench: {info}")
