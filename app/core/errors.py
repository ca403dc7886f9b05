"""Error pages: the same 404 for a foreign id as for a missing one, a clear 503 while PostgreSQL or
Redis is out of reach, and a generic 500."""

from flask import Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError

from app.core.observability import security_event
from app.extensions import db

# Failures of a service rather than of the request: the page says so, and the next request, once the
# service is back, works without a restart (pool_pre_ping and fresh Redis connections).
UNAVAILABLE = (OperationalError, RedisConnectionError, RedisTimeoutError)

# Static and in both languages: while Redis is down there is no session (so no chosen language or
# user), and while PostgreSQL is down no tenant, so nothing of the usual layout can be rendered.
UNAVAILABLE_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tạm thời gián đoạn · Temporarily unavailable</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">
<h1>Hệ thống tạm thời gián đoạn</h1>
<p>Một dịch vụ nền đang khởi động lại. Dữ liệu của bạn không bị mất; vui lòng thử lại sau ít giây.</p>
<h2 lang="en">Temporarily unavailable</h2>
<p lang="en">A back-end service is restarting. Nothing you saved is lost; please try again in a few seconds.</p>
</body></html>
"""


def _service_unavailable(error: BaseException | None) -> bool:
    if isinstance(error, UNAVAILABLE):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _unavailable_response():
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 — the connection is already gone; the pool discards it
        pass
    headers = {"Retry-After": "10", "Cache-Control": "no-store"}
    if _wants_json():
        return jsonify(error=503), 503, headers
    return Response(UNAVAILABLE_PAGE, 503, headers, mimetype="text/html")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _page(status: int, template: str, **context):
    if _wants_json():
        return jsonify(error=status), status
    return render_template(template, status=status, **context), status


def register_error_handlers(app) -> None:
    for status in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(status, lambda error, status=status: _page(status, f"errors/{status}.html"))

    @app.before_request
    def _refuse_nul_in_query():
        # No query value may hold NUL: PostgreSQL text cannot, and no filter means it.
        if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
            return _page(400, "errors/400.html", message=_("Địa chỉ trang chứa ký tự NUL không hợp lệ."))
        return None

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        security_event("csrf_failed", reason=error.description)
        return _page(400, "errors/400.html", csrf=True)

    @app.errorhandler(500)
    def server_error(error):
        if _service_unavailable(getattr(error, "original_exception", None)):
            return _unavailable_response()
        db.session.rollback()
        return _page(500, "errors/500.html")
