"""Outages of PostgreSQL and Redis under a real gunicorn, on a private PostgreSQL cluster and a private
Redis (the shared ones serve other test runs): pages answer a clear 503 (never a 500, never a hang)
while a service is down, and the same web processes serve again once it is back — no restart."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from infra.database import bootstrap
from infra.pgcluster import Cluster
from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(420)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis(port: int, folder: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
        assert time.monotonic() < deadline, "private redis did not start"
        time.sleep(0.1)
    return process


def _status(url: str) -> int:
    # A hang would be a failure too: the timeout turns it into an exception.
    return requests.get(url, timeout=15, allow_redirects=False).status_code


def _until(url: str, status: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (got := _status(url)) != status:
        assert time.monotonic() < deadline, f"{url} answered {got}, expected {status}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def stack(app_env):
    root = Path(tempfile.mkdtemp(prefix="ocop-outage-"))
    root.chmod(0o755)
    pg = Cluster(root / "pg").init()
    redis_port, web_port = _free_port(), _free_port()
    redis_process = _redis(redis_port, root)
    web = None
    try:
        pg.start()
        env = {
            **os.environ,
            **{k: v for k, v in app_env.items() if k.startswith("S3_")},
            **bootstrap(pg.url(), "ocop"),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "OCOP_ENV": "test-outage",
            "SESSION_COOKIE_SECURE": "0",
            "SECRET_KEY": "outage-test",
        }
        for args in (("db", "upgrade"), ("tenants", "sync")):
            subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env, cwd=ROOT, check=True)
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{web_port}", "wsgi:app"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{web_port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if _status(f"{base}/healthz") == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy importing
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.5)
        holder = {"redis": redis_process}
        yield base, pg, holder, redis_port, root
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        pg.remove()
        holder_process = locals().get("holder", {"redis": redis_process})["redis"]
        holder_process.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_stopped_for_ten_seconds(stack):
    base, pg, _, _, _ = stack
    assert _status(f"{base}/bac-giang/login") == 200
    pg.stop("immediate")
    started = time.monotonic()
    seen = []
    while time.monotonic() - started < 10:
        response = requests.get(f"{base}/bac-giang/login", timeout=15)
        seen.append(response.status_code)
        assert response.status_code == 503, response.text[:500]
        assert response.headers["Retry-After"] == "10"
        assert "Temporarily unavailable" in response.text and "tạm thời gián đoạn" in response.text
        time.sleep(1)
    assert len(seen) >= 3
    health = requests.get(f"{base}/readyz", timeout=15)
    assert health.status_code == 503 and health.json()["database"] != "ok"
    pg.start()
    # The same gunicorn worker serves again: dead pooled connections are replaced (app/core/pool.py).
    _until(f"{base}/bac-giang/login", 200)
    _until(f"{base}/readyz", 200)


def test_redis_killed_and_restarted(stack):
    base, _, holder, redis_port, root = stack
    assert _status(f"{base}/bac-giang/login") == 200
    holder["redis"].kill()
    holder["redis"].wait()
    response = requests.get(f"{base}/bac-giang/login", timeout=15)
    assert response.status_code == 503, response.text[:500]
    assert "Temporarily unavailable" in response.text
    # A form post too (session, CSRF and the login throttle all live in Redis).
    response = requests.post(f"{base}/bac-giang/login", data={"email": "a@b.vn", "password": "x"}, timeout=15)
    assert response.status_code == 503
    holder["redis"] = _redis(redis_port, root)
    _until(f"{base}/bac-giang/login", 200)
