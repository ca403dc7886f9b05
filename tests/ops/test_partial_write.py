"""A gunicorn worker killed in the middle of a request leaves no partial write: one request is one
transaction, so rows flushed but not committed (the producer and its audit entry) vanish with it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import psycopg
import pytest
import requests

from infra.backup import _with
from tests.conftest import ROOT, TEST_DB
from tests.factories import PASSWORD, user_of_role

pytestmark = pytest.mark.timeout(300)
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _counts(app_env, tenant_id: int, name: str) -> tuple[int, int]:
    with psycopg.connect(_with(app_env["ADMIN_DATABASE_URL"], dbname=TEST_DB)) as conn:
        producers = conn.execute(
            "SELECT count(*) FROM producers WHERE tenant_id = %s AND name = %s", [tenant_id, name]
        ).fetchone()[0]
        audit = conn.execute("SELECT count(*) FROM audit_log WHERE tenant_id = %s", [tenant_id]).fetchone()[0]
    return producers, audit


def test_worker_killed_between_writes_and_commit(app, app_env, tenants, tmp_path):
    slug, tenant_id = "bac-giang", tenants["bac-giang"]
    _, email = user_of_role(app, tenant_id, "province_officer")
    flag = tmp_path / "slow-commit"
    port = _free_port()
    env = {**os.environ, **app_env, "OCOP_ENV": "test-partial", "SECRET_KEY": "partial", "SESSION_COOKIE_SECURE": "0"}
    env |= {"LOG_JSON": "0", "OCOP_SLOW_COMMIT_FLAG": str(flag)}
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "tests/ops/gunicorn_slow_commit.py"),
         "--workers", "1", "--timeout", "300", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.5)
        browser = requests.Session()
        token = TOKEN.search(browser.get(f"{base}/{slug}/login", timeout=15).text).group(1)
        login = browser.post(
            f"{base}/{slug}/login",
            data={"csrf_token": token, "email": email, "password": PASSWORD},
            allow_redirects=False,
            timeout=15,
        )
        assert login.status_code == 302
        page = browser.get(f"{base}/{slug}/producers/new", timeout=15).text
        kind = re.search(r'<select[^>]*name="kind".*?<option[^>]*value="([^"]+)"', page, re.S).group(1)
        form = {"csrf_token": TOKEN.search(page).group(1), "name": "Hợp tác xã Giữa Chừng", "kind": kind}
        before = _counts(app_env, tenant_id, form["name"])
        assert before[0] == 0

        flag.touch()
        outcome = {}
        post = threading.Thread(
            target=lambda: outcome.setdefault("result", _post_catching(browser, f"{base}/{slug}/producers/new", form))
        )
        post.start()
        reached = tmp_path / "slow-commit.reached"
        deadline = time.monotonic() + 60
        while not reached.exists() or not reached.read_text():
            assert time.monotonic() < deadline, "the request never reached its commit"
            time.sleep(0.1)
        os.kill(int(reached.read_text()), signal.SIGKILL)  # between the writes and the commit
        post.join(timeout=60)
        flag.unlink()
        assert not isinstance(outcome["result"], int) or outcome["result"] >= 500
        assert _counts(app_env, tenant_id, form["name"]) == before  # no producer, no audit entry

        # gunicorn replaced the worker; the same request now goes through, whole.
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.5)
        page = browser.get(f"{base}/{slug}/producers/new", timeout=15).text
        form["csrf_token"] = TOKEN.search(page).group(1)
        assert (
            browser.post(f"{base}/{slug}/producers/new", data=form, allow_redirects=False, timeout=15).status_code
            == 302
        )
        producers, audit = _counts(app_env, tenant_id, form["name"])
        assert producers == 1 and audit > before[1]
    finally:
        web.terminate()
        web.wait(timeout=30)


def _post_catching(browser, url, form):
    try:
        return browser.post(url, data=form, allow_redirects=False, timeout=120).status_code
    except requests.RequestException as error:
        return error
