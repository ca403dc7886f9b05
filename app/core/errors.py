"""Error pages: the same 404 for a foreign id as for a missing one, and a generic 500."""

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from app.extensions import db


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
        return _page(400, "errors/400.html", csrf=True)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _page(500, "errors/500.html")
