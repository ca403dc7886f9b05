"""A bounded mixed run of 30 users (locust, headless) against gunicorn with 2 workers on the real
services: sign in, dashboard, product list, search, product page, Excel export. Reports the error
rate, p50/p95 per action and the most PostgreSQL connections seen. Printed, never asserted beyond
"the run happened and nothing failed" (timings are not tests)."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time

import psycopg
import requests

from tests.conftest import ROOT, TEST_DB
from tests.factories import PASSWORD, producer_with_product, user_of_role

USERS = 30
DURATION = os.environ.get("OCOP_BENCH_MIXED_DURATION", "60s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_mixed_load_of_thirty_users(app, app_env, tenants, tmp_path):
    slug = "bac-giang"
    for _ in range(40):
        producer_with_product(app, tenants[slug])
    users = [[user_of_role(app, tenants[slug], "province_officer")[1], PASSWORD] for _ in range(USERS)]
    (tmp_path / "users.json").write_text(json.dumps({"slug": slug, "users": users}))
    port = _free_port()
    env = {**os.environ, **app_env, "OCOP_ENV": "test-bench", "SECRET_KEY": "bench", "SESSION_COOKIE_SECURE": "0"}
    env |= {"LOG_JSON": "0", "OCOP_BENCH_USERS": str(tmp_path / "users.json")}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = {"connections": 0}
    done = threading.Event()

    def sample_connections():
        with psycopg.connect(app_env["MIGRATION_DATABASE_URL"], autocommit=True) as conn:
            while not done.is_set():
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [TEST_DB]).fetchone()
                peak["connections"] = max(peak["connections"], count[0])
                time.sleep(0.5)

    sampler = threading.Thread(target=sample_connections, daemon=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.5)
        sampler.start()
        result = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "tests/benchmarks/locustfile.py"), "--headless",
             "-u", str(USERS), "-r", "10", "-t", DURATION, "--host", base, "--csv", str(tmp_path / "run"),
             "--only-summary", "--stop-timeout", "10"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        done.set()
        web.terminate()
        web.wait(timeout=30)
    rows = list(csv.DictReader(open(tmp_path / "run_stats.csv")))
    assert rows, result.stderr[-2000:]
    print(f"\nmixed run: {USERS} users for {DURATION} on gunicorn (2 workers); peak PostgreSQL connections: "
          f"{peak['connections']}")  # fmt: skip
    print(f"{'action':<16}{'requests':>10}{'failures':>10}{'error %':>9}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>8}")
    for row in rows:
        total, failures = int(row["Request Count"]), int(row["Failure Count"])
        print(
            f"{row['Name']:<16}{total:>10}{failures:>10}{100 * failures / max(total, 1):>9.2f}"
            f"{row['50%']:>9}{row['95%']:>9}{float(row['Requests/s']):>8.1f}"
        )
    aggregated = next(row for row in rows if row["Name"] == "Aggregated")
    assert int(aggregated["Request Count"]) > 0
    assert int(aggregated["Failure Count"]) == 0, open(tmp_path / "run_failures.csv").read()
