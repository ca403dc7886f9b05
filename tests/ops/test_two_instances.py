"""The web tier is stateless: two app instances (gunicorn, different ports) on the same PostgreSQL,
Redis and S3 share sessions, CSRF tokens, login throttling and uploads — a user may land on either."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT
from tests.documents.conftest import PDF, post_to_storage
from tests.factories import PASSWORD, producer_with_product, user_of_role

pytestmark = pytest.mark.timeout(300)
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def instances(app, app_env):
    env = {
        **os.environ,
        **app_env,
        "OCOP_ENV": "test-two",
        "SECRET_KEY": "one-key-for-every-instance",
        "SESSION_COOKIE_SECURE": "0",
        "LOGIN_PAIR_FAILURES": "3",
        "LOG_JSON": "0",
    }
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, f"{base} did not start"
                time.sleep(0.5)
        yield bases
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _token(session: requests.Session, url: str) -> str:
    return TOKEN.search(session.get(url, timeout=15).text).group(1)


def test_session_and_csrf_cross_instances(instances, app, tenants):
    a, b = instances
    _, email = user_of_role(app, tenants["bac-giang"], "province_officer")
    browser = requests.Session()
    token = _token(browser, f"{a}/bac-giang/login")  # the form from A …
    response = browser.post(  # … posted to B
        f"{b}/bac-giang/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=15,
    )
    assert response.status_code == 302
    assert browser.get(f"{a}/bac-giang/", timeout=15, allow_redirects=False).status_code == 200
    # A forged post (no token) is refused by both.
    for base in (a, b):
        assert browser.post(f"{base}/bac-giang/logout", timeout=15, allow_redirects=False).status_code == 400


def test_login_throttling_counts_across_instances(instances, app, tenants):
    a, b = instances
    _, email = user_of_role(app, tenants["bac-giang"], "province_officer")
    browser = requests.Session()
    statuses = []
    for base in (a, b, a, b):
        token = _token(browser, f"{base}/bac-giang/login")
        response = browser.post(
            f"{base}/bac-giang/login",
            data={"csrf_token": token, "email": email, "password": "wrong-password-1"},
            allow_redirects=False,
            timeout=15,
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]


def test_upload_presigned_on_one_confirmed_on_the_other(instances, app, tenants):
    a, b = instances
    producer_id, _ = producer_with_product(app, tenants["bac-giang"])
    _, email = user_of_role(app, tenants["bac-giang"], "producer", producer_id=producer_id)
    browser = requests.Session()
    token = _token(browser, f"{a}/bac-giang/login")
    browser.post(
        f"{a}/bac-giang/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=15,
    )
    csrf = _token(browser, f"{b}/bac-giang/account")
    data = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    response = browser.post(
        f"{a}/bac-giang/documents/presign",
        json={"requirement": "market_development", "filename": "ho-so.pdf", "content_type": PDF, "size": len(data)},
        headers={"X-CSRFToken": csrf, "Accept": "application/json"},
        timeout=15,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert post_to_storage(created["upload"], data, filename="ho-so.pdf", part_type=PDF).status_code in (200, 201, 204)
    confirm = browser.post(
        f"{b}{created['confirm_url']}", headers={"X-CSRFToken": csrf, "Accept": "application/json"}, timeout=15
    )
    assert confirm.status_code == 202, confirm.text
    status = browser.get(f"{a}{created['status_url']}", headers={"Accept": "application/json"}, timeout=15)
    assert status.status_code == 200 and status.json()["status"] in ("pending", "verifying", "accepted")
