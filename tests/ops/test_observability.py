"""Structured logs carry the request id and no secret; security events are their own lines; the
metrics endpoint answers only the configured scraper."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter

from app.core.observability import request_log, security_log
from tests.conftest import csrf_token

SECRET_PASSWORD = "Secret-Pass-7731"
SECRET_QUERY = "X-Amz-Signature-SECRETSIG42"


@pytest.fixture()
def log_lines():
    """The JSON lines the request and security loggers write during the test."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in (request_log, security_log)]
    for lg in (request_log, security_log):
        lg.handlers[:] = [handler]
        lg.setLevel(logging.INFO)
        lg.propagate = False
        lg.disabled = False

    def read():
        return [json.loads(line) for line in buffer.getvalue().splitlines()], buffer.getvalue()

    yield read
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers[:], lg.level, lg.propagate, lg.disabled = handlers, level, propagate, disabled


def test_request_id_is_echoed_or_made(client, tenants):
    assert client.get("/bac-giang/login", headers={"X-Request-ID": "lb-1234abcd"}).headers["X-Request-ID"] == (
        "lb-1234abcd"
    )
    made = client.get("/bac-giang/login", headers={"X-Request-ID": "bad id;<script>"}).headers["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0


def test_log_of_a_failed_login_has_its_id_and_no_secret(client, tenants, log_lines):
    token = csrf_token(client, "/bac-giang/login")
    email = "nobody.unknown@example.vn"
    response = client.post(
        f"/bac-giang/login?next=/x&sig={SECRET_QUERY}",
        data={"csrf_token": token, "email": email, "password": SECRET_PASSWORD},
        headers={"X-Request-ID": "req-failed-login-1"},
    )
    assert response.status_code == 401
    lines, raw = log_lines()
    assert SECRET_PASSWORD not in raw and SECRET_QUERY not in raw and token not in raw
    assert "nobody" not in raw
    session_cookie = client.get_cookie("session") or client.get_cookie("ocop_session")
    if session_cookie is not None:
        assert session_cookie.value not in raw
    requests = [line for line in lines if line["message"] == "request" and line["request_id"] == "req-failed-login-1"]
    assert len(requests) == 1
    entry = requests[0]
    assert (entry["tenant"], entry["method"], entry["status"]) == ("bac-giang", "POST", 401)
    assert entry["route"].endswith("/login") and entry["duration_ms"] >= 0
    events = [line for line in lines if line.get("event") == "login_failed"]
    assert len(events) == 1
    assert events[0]["request_id"] == "req-failed-login-1" and len(events[0]["account"]) == 16


def test_control_characters_cannot_forge_a_line(app, log_lines):
    from app.core.observability import security_event

    with app.test_request_context("/"):
        security_event("probe", detail='x\n{"event": "forged"}\r\x1b[31m')
    lines, raw = log_lines()
    assert len(raw.splitlines()) == 1
    assert [line["event"] for line in lines] == ["probe"]
    assert lines[0]["detail"] == 'x\n{"event": "forged"}\r\x1b[31m'


def test_csrf_failure_and_unknown_id_are_security_events(client, app, tenants, officer_login, log_lines):
    client.post("/bac-giang/login", data={"email": "a@b.vn", "password": "x"})
    officer, _, _ = officer_login("bac-giang")
    assert officer.get("/bac-giang/producers/987654321").status_code == 404
    lines, _ = log_lines()
    events = [line["event"] for line in lines if "event" in line]
    assert events.count("csrf_failed") == 1
    assert events.count("id_not_found") == 1
    found = next(line for line in lines if line.get("event") == "id_not_found")
    assert (found["model"], found["id"], found["tenant"]) == ("producers", 987654321, "bac-giang")


def test_role_change_is_a_security_event(app, tenants, log_lines):
    from app.auth import services
    from app.extensions import db
    from tenants.context import tenant_scope
    from tests.conftest import create_user

    user_id, _ = create_user(app, tenants["bac-giang"], roles=("province_officer",))
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        from app.auth.models import User

        user = db.session.get(User, (tenants["bac-giang"], user_id)) or db.session.scalar(
            db.select(User).where(User.id == user_id)
        )
        services.user_update(
            user,
            full_name=user.full_name,
            roles=["province_officer", "province_admin"],
            unit_id=user.unit_id,
            active=True,
            acting_user=None,
        )
        db.session.rollback()
    lines, _ = log_lines()
    events = [line for line in lines if line.get("event") == "roles_changed"]
    assert len(events) == 1
    assert events[0]["before"] == ["province_officer"] and events[0]["after"] == ["province_admin", "province_officer"]


def test_metrics_only_for_the_configured_scraper(client, app):
    assert client.get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = "scrape-token-1"
    try:
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
        client.get("/bac-giang/login")
        response = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-1"})
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert 'ocop_http_requests_total{method="GET",route="/<tenant_slug>/login",status="200"}' in text
        for queue in ("documents", "scheduling", "notifications", "reports", "default"):
            assert f'ocop_jobs_queued{{queue="{queue}"}}' in text
            assert f'ocop_jobs_failed{{queue="{queue}"}}' in text
    finally:
        app.config["METRICS_TOKEN"] = ""


def test_reconciler_repairs_are_counted(app, client):
    from jobs.metrics import count_repairs, jobs_snapshot

    with app.app_context():
        before = jobs_snapshot()["repairs"].get("documents", 0)
        count_repairs("documents", 3)
        count_repairs("documents", 0)
        assert jobs_snapshot()["repairs"]["documents"] == before + 3
