"""`/verify/<code>`: the public page behind the QR (no login, cacheable); the certificate PDF for the province."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user

from app.auth.policy import permission_required
from app.core.i18n import select_locale
from app.core.pdf import pdf_response
from app.verify import pdf, services
from tenants.resolution import tenant_blueprint

bp = Blueprint("verify", __name__, template_folder="templates")
documents_bp = tenant_blueprint("certificate_pdf", __name__, template_folder="templates")

# Short enough that a revocation reaches a shared cache within a minute; nothing is cached server-side.
MAX_AGE = 60


def verify_url(code: str) -> str:
    """The absolute address printed in the QR: the canonical public host when configured."""
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    if base:
        return base + url_for("verify.show", code=code)
    return url_for("verify.show", code=code, _external=True)


# Any path under /verify/ (a code with a slash, a truncated scan) gets the same clear page.
@bp.route("/verify/<path:code>")
def show(code):
    # The language comes from ?lang= (the switch on this page is links, so the page sets no cookie and
    # stays cacheable), else from the visitor's session choice (hence Vary: Cookie), else Vietnamese.
    asked = request.args.get("lang", "")
    lang = asked if asked in current_app.config["LANGUAGES"] else select_locale()
    record = services.verification_lookup(code)
    with force_locale(lang):
        if record is None:
            body, status = render_template("verify/not_found.html", lang=lang), 404
        else:
            body = render_template(
                "verify/show.html", record=record, status=services.verification_status(record), lang=lang
            )
            status = 200
    response = current_app.response_class(body, status=status, mimetype="text/html")
    response.headers["Content-Language"] = lang
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.vary.add("Cookie")
    response.add_etag()
    return response.make_conditional(request)


@documents_bp.route("/certificates/<int:certificate_id>/certificate.pdf")
@permission_required("certificate.download")
def certificate_pdf(certificate_id):
    document = services.certificate_document_get(current_user, certificate_id)
    if document is None:
        abort(404)
    body = pdf.certificate_pdf(
        document, verify_url(document.certificate.public_code), current_app.config["CERTIFICATE_FONT_DIR"]
    )
    return pdf_response(body, f"giay-chung-nhan-ocop-{document.certificate.id}.pdf")
