"""Error pages: the same 404 for a foreign id as for a missing one, and a generic 500.

Input the database cannot hold (a NUL byte, a number past bigint) is a bad request, never a 500:
NUL in the query string is refused before anything reads it, NUL in a JSON body likewise, NUL in a
form under its field (app/core/forms.py), and whatever still reaches PostgreSQL as a data exception answers 400.
"""

import logging

from flask import abort, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError

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
        if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
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
        return _page(400, "errors/400.html", csrf=True)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _page(500, "errors/500.html")
