"""Error pages: the same 404 for a foreign id as for a missing one, a clear 503 while PostgreSQL or
Redis is out of reach, and a generic 500.

Input the database cannot hold (a NUL byte, a number past bigint) is a bad request, never a 500:
NUL in the query string is refused before anything reads it, NUL in a JSON body likewise, NUL in a
form under its field (app/core/forms.py), and whatever still reaches PostgreSQL as a data exception answers 400.
"""

import logging

from flask import Response, abort, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from app.core.observability import security_event
from app.extensions import db

log = logging.getLogger(__name__)


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


# Failures of a service rather than of the request: the page says so, and the next request, once the
# service is back, works without a restart (idle connections pinged, app/core/pool.py; fresh Redis connections).
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

    @app.url_value_preprocessor
    def _refuse_nul_in_address(endpoint, values):
        # Runs before the blueprints' own preprocessors. No query value may hold NUL: PostgreSQL text
        # cannot, and no filter means it. (NUL in the path names nothing: 404, see tenants/resolution.py.)
        try:
            nul = any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True))
        except UnicodeDecodeError:  # raw bytes that are not UTF-8 (a server passes the request line on as sent)
            # Plain text: every page reads the address again (its links, the language switch).
            message = _("Địa chỉ trang không phải UTF-8 hợp lệ.")
            abort(make_response(message, 400, {"Content-Type": "text/plain; charset=utf-8"}))
        if nul:
            abort(make_response(_page(400, "errors/400.html", message=_("Địa chỉ trang chứa ký tự NUL không hợp lệ."))))
        if request.is_json and _holds_nul(request.get_json(silent=True)):
            abort(make_response(jsonify(error=_("Dữ liệu gửi lên chứa ký tự NUL không hợp lệ.")), 400))

    @app.errorhandler(DataError)
    def data_error(error):
        # A value PostgreSQL refused (number out of range, NUL, bad text): the input, not the server.
        db.session.rollback()
        log.info("data error from input on %s: %s", request.path, getattr(error, "orig", error))
        message = _("Dữ liệu nhập không hợp lệ: số quá lớn hoặc có ký tự không được phép.")
        if _wants_json():
            return jsonify(error=message), 400
        return render_template("errors/400.html", status=400, message=message), 400

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
