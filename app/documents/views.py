"""Evidence documents: JSON endpoints for direct uploads (presign, confirm, status) and the download link.

Who sees what: province admins/officers and commune officers every document of the province; a
producer only their own producer's documents; council members and inspectors read every document
(they evaluate and inspect the evidence) but upload nothing. Anything else answers 404, exactly
like a missing or foreign id.
"""

from __future__ import annotations

from flask import abort, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.roles import COMMUNE_OFFICER, COUNCIL_MEMBER, INSPECTOR, PRODUCER, PROVINCE_ADMIN, PROVINCE_OFFICER
from app.core.access import get_or_404, roles_required
from app.documents import services
from app.documents.models import Document
from app.extensions import db
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("documents", __name__, url_prefix="/documents", template_folder="templates")

STAFF = (PROVINCE_ADMIN, PROVINCE_OFFICER, COMMUNE_OFFICER)
UPLOADERS = (*STAFF, PRODUCER)
READERS = (*UPLOADERS, COUNCIL_MEMBER, INSPECTOR)


def _own_producer_id() -> int | None:
    """The one producer a producer user acts for (0 when none); None for everyone else."""
    if current_user.has_role(PRODUCER) and not current_user.has_role(*STAFF, COUNCIL_MEMBER, INSPECTOR):
        return current_user.producer_id or 0
    return None


def _document_or_404(document_id: int) -> Document:
    document = get_or_404(Document, document_id)
    own = _own_producer_id()
    if own is not None and document.producer_id != own:
        abort(404)
    return document


def _urls(document: Document) -> dict:
    return {
        "status_url": url_for("documents.status", document_id=document.id),
        "confirm_url": url_for("documents.confirm", document_id=document.id),
        "download_url": url_for("documents.download", document_id=document.id),
    }


def _error(error: services.DocumentError, status: int = 400):
    db.session.rollback()
    return jsonify(error=str(error)), status


@bp.route("/presign", methods=["POST"])
@roles_required(*UPLOADERS)
def presign():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error=_("Yêu cầu không hợp lệ.")), 400
    producer_id = data.get("producer_id")
    own = _own_producer_id()
    if own is not None:
        if producer_id not in (None, "", own, str(own)) or not own:
            abort(404)
        producer_id = own
    try:
        document, post = services.document_presign(
            producer_id=producer_id,
            product_id=data.get("product_id"),
            requirement=data.get("requirement"),
            filename=data.get("filename"),
            content_type=data.get("content_type"),
            size=data.get("size"),
            uploaded_by=current_user.id,
            title=data.get("title") or "",
            issued_on=data.get("issued_on"),
            valid_until=data.get("valid_until"),
        )
    except services.DocumentError as error:
        return _error(error)
    db.session.commit()
    return jsonify(id=document.id, upload=post, **_urls(document)), 201


@bp.route("/<int:document_id>/confirm", methods=["POST"])
@roles_required(*UPLOADERS)
def confirm(document_id):
    document = _document_or_404(document_id)
    try:
        document = services.document_confirm(document.id)
    except services.DocumentError as error:
        return _error(error, 409)
    db.session.commit()  # the verification job is queued by this commit, never before it
    return jsonify(**services.document_status(document), **_urls(document)), 202


@bp.route("/<int:document_id>")
@roles_required(*READERS)
def status(document_id):
    document = _document_or_404(document_id)
    response = jsonify(**services.document_status(document), **_urls(document))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:document_id>/download")
@roles_required(*READERS)
def download(document_id):
    document = _document_or_404(document_id)
    try:
        url = services.document_download_url(document)
    except services.DocumentError:
        abort(404)  # nothing verified to hand out
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response
