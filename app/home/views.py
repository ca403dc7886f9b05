"""Pages outside any tenant: landing, liveness and readiness, language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from redis import Redis
from sqlalchemy import select, text

from app.core.i18n import language_switch_response
from app.core.storage import storage_check
from app.extensions import db, limiter
from tenants.models import Tenant

bp = Blueprint("home", __name__, template_folder="templates")


@bp.route("/")
def index():
    tenants = db.session.scalars(select(Tenant).where(Tenant.is_active.is_(True)).order_by(Tenant.name)).all()
    return render_template("home/index.html", tenants=tenants)


def _probe(check) -> str:
    try:
        check()
    except Exception as error:  # a health probe reports every failure instead of raising
        current_app.logger.warning("health check failed: %s", error)
        return "error"
    return "ok"


@bp.route("/healthz")
@limiter.exempt
def healthz():
    """Liveness: the process answers. Touches no service, so a load balancer may call it often."""
    return jsonify(status="ok")


@bp.route("/readyz")
@limiter.exempt
def readyz():
    """Readiness: PostgreSQL, Redis and S3 each answer; 503 names the one that did not."""
    checks = {
        "database": _probe(lambda: db.session.execute(text("SELECT 1"))),
        "redis": _probe(lambda: Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2).ping()),
        "storage": _probe(storage_check),
    }
    db.session.rollback()
    ready = all(state == "ok" for state in checks.values())
    return jsonify(status="ok" if ready else "degraded", **checks), 200 if ready else 503


@bp.route("/lang/<code>", methods=["POST"])
def switch_language(code):
    return language_switch_response(code)
