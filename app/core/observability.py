"""Structured logs, security events and Prometheus metrics.

Every request logs one JSON line: request id (taken from X-Request-ID when well formed, else new, and
echoed back), tenant, user, route (the URL rule, never the query string: it can hold tokens and
presigned signatures), method, status and duration. Cookies, form fields and passwords are never
logged; JSON escapes control characters, so a hostile value cannot forge a line.

Security events (login failures, throttling, CSRF failures, id lookups that found nothing, rejected
uploads, role changes) are their own lines on the `ocop.security` logger.

`/metrics` (Prometheus text) exists only where configured: METRICS_TOKEN set, and the scraper sends
it as a bearer token; anywhere else it is a plain 404.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, abort, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
security_log = logging.getLogger("ocop.security")
request_log = logging.getLogger("ocop.request")

REGISTRY = CollectorRegistry()
REQUESTS = Counter("ocop_http_requests", "HTTP requests", ("method", "route", "status"), registry=REGISTRY)
LATENCY = Histogram(
    "ocop_http_request_seconds",
    "Time to answer a request",
    ("route",),
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SECURITY_EVENTS = Counter("ocop_security_events", "Security events", ("event",), registry=REGISTRY)


def security_event(event: str, **fields) -> None:
    """One security event: its own log line (and a metric); `fields` must hold no secret."""
    SECURITY_EVENTS.labels(event).inc()
    security_log.warning(event, extra={"event": event, **_context(), **fields})


def email_digest(email: str) -> str:
    """Correlates events of one account without writing the address into the logs."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _context() -> dict:
    try:
        tenant = g.get("tenant")
        user = None if "log_user" in g else _user_id()
        return {
            "request_id": g.get("request_id"),
            # A page served from the cache (app/auth/page_cache.py) names its user and province itself.
            "tenant": tenant.slug if tenant is not None else g.get("log_tenant", g.get("area")),
            "user": g.get("log_user", user),
            "route": request.url_rule.rule if request.url_rule else None,
            "ip": request.remote_addr,
        }
    except RuntimeError:  # outside a request (a job): nothing of a request to add
        return {}


def _user_id():
    from flask_login import current_user

    try:
        return current_user.get_id() if current_user and current_user.is_authenticated else None
    except Exception:  # noqa: BLE001 — a user that cannot be loaded (Redis or the database down)
        return None


def _configure_logging(app: Flask) -> None:
    if not app.config.get("LOG_JSON", True):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"asctime": "time"})
    )
    for logger in (request_log, security_log, app.logger):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def init_observability(app: Flask) -> None:
    _configure_logging(app)

    @app.before_request
    def _start_request():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        if started is None:
            return response
        elapsed = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(elapsed)
        response.headers["X-Request-ID"] = g.request_id
        _security_from_response(response)
        request_log.info(
            "request",
            extra={
                **_context(),
                "route": route,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response

    @app.route("/metrics")
    def metrics():
        token = app.config.get("METRICS_TOKEN") or ""
        sent = request.headers.get("Authorization", "")
        if not token or not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            abort(404)
        return Response(generate_latest(REGISTRY), mimetype="text/plain; version=0.0.4")


def _security_from_response(response) -> None:
    """Events a response shows by itself; others are raised where they happen (security_event)."""
    endpoint = request.endpoint or ""
    if response.status_code == 429:
        security_event("throttled", status=429)
    elif request.method == "POST" and endpoint.endswith(".login") and response.status_code == 401:
        security_event("login_failed", account=email_digest(request.form.get("email", "")))
