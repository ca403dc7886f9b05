"""The application factory: the composition root, the one module that lists every feature.

It lives apart from `app/__init__.py` so that importing any part of `app` (the core, a feature, the
extensions) never loads the whole application; here everything is imported at the top.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from flask import Flask, g
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from app import models as _models  # noqa: F401  (all tables known before anything queries)
from app.audit.services import install_audit_hook
from app.audit.views import bp as audit_bp
from app.auth import menu, page_cache, policy
from app.auth.cli import register_accounts_cli
from app.auth.identity import actor_for  # also registers the Flask-Login loader
from app.auth.jobs import register_jobs_cli
from app.auth.views import bp as auth_bp
from app.certification.views import bp as certification_bp
from app.config import Config
from app.core.access import IdConverter
from app.core.errors import register_error_handlers
from app.core.i18n import register_filters, select_locale
from app.core.observability import init_observability
from app.core.pool import ping_when_idle
from app.core.sessions import refresh_sessions_now_and_then
from app.cycle.views import bp as cycle_bp
from app.dashboard.views import bp as dashboard_bp
from app.demo import register_demo_cli
from app.documents.views import bp as documents_bp
from app.evaluation.views import bp as evaluation_bp
from app.exchange.views import bp as exchange_bp
from app.extensions import babel, csrf, db, limiter, login_manager, migrate, server_session, talisman
from app.home.views import bp as home_bp
from app.inspection.views import bp as inspection_bp
from app.inspection.work_views import bp as inspection_work_bp
from app.national.views import bp as national_bp
from app.notices.views import bp as notices_bp
from app.notices.views import jobs_bp as tenant_jobs_bp
from app.planning.views import bp as planning_bp
from app.platform.views import bp as platform_bp
from app.portal.views import bp as portal_bp
from app.progress.views import bp as progress_bp
from app.registry.views import bp as registry_bp
from app.users.views import bp as users_bp
from app.verify.views import bp as verify_bp
from app.verify.views import documents_bp as certificate_pdf_bp
from jobs.metrics import register_jobs_collector
from tenants.cli import register_tenants_cli
from tenants.context import reset_actor, set_actor
from tenants.isolation import install_isolation_hooks
from tenants.resolution import release_tenant

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def create_app(config: type[Config] | dict | None = None) -> Flask:
    app = Flask("app")  # the package: its templates, static files and translations
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        raise RuntimeError("DATABASE_URL is not set (see README: `make run` sets it up for you)")

    app.url_map.converters["int"] = IdConverter  # before any rule is added: ids past bigint are just missing
    init_observability(app)  # first: its request id and timing wrap every other hook
    register_jobs_collector(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)

    register_error_handlers(app)  # its address checks run before the page cache looks a page up
    page_cache.init_app(app, app.config["SESSION_REDIS"])
    register_filters(app)
    policy.init_app(app)
    menu.init_app(app)
    register_tenants_cli(app)
    register_jobs_cli(app)
    register_accounts_cli(app)
    register_demo_cli(app)
    return app


def _content_security_policy(app: Flask) -> dict:
    """Browsers upload evidence straight to object storage, so its origin may be connected to."""
    policy = dict(CONTENT_SECURITY_POLICY)
    endpoint = urlsplit(app.config.get("S3_PUBLIC_ENDPOINT_URL") or app.config["S3_ENDPOINT_URL"] or "")
    if endpoint.scheme and endpoint.netloc:
        policy["connect-src"] = f"'self' {endpoint.scheme}://{endpoint.netloc}"
    return policy


def _init_extensions(app: Flask) -> None:

    if app.config.get("PROXY_FIX"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine)
    install_isolation_hooks()
    install_audit_hook()
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    # Timeouts so that a Redis that hangs gives a 503 in seconds rather than a request that never ends.
    app.config["SESSION_REDIS"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=3, socket_timeout=5
    )
    server_session.init_app(app)
    refresh_sessions_now_and_then(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # the session id is rotated at login instead
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=_content_security_policy(app),
        frame_options="DENY",
        strict_transport_security=True,
        strict_transport_security_max_age=31536000,
        referrer_policy="same-origin",
    )


def _register_blueprints(app: Flask) -> None:

    for bp in (
        home_bp,
        national_bp,
        platform_bp,
        auth_bp,
        dashboard_bp,
        users_bp,
        audit_bp,
        planning_bp,
        progress_bp,
        registry_bp,
        exchange_bp,
        certification_bp,
        evaluation_bp,
        inspection_bp,
        cycle_bp,
        portal_bp,
        documents_bp,
        notices_bp,
        tenant_jobs_bp,
        verify_bp,
        certificate_pdf_bp,
        inspection_work_bp,
    ):
        app.register_blueprint(bp)


def _register_request_hooks(app: Flask) -> None:

    # A kept page is answered before anything loads the user or the province.
    app.before_request(page_cache.answer_before_request)
    app.after_request(page_cache.keep_after_request)

    @app.before_request
    def _bind_actor():
        # Every change this request makes is attributed to whoever is signed in.
        g.actor_token = set_actor(actor_for(current_user._get_current_object()))

    @app.teardown_request
    def _release(exc=None):
        token = g.pop("actor_token", None)
        if token is not None:
            reset_actor(token)
        release_tenant(exc)
