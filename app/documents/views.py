"""Evidence documents: JSON endpoints for direct uploads (presign, confirm, status) and the download link.

Who sees what is declared in app/auth/policy.py ("documents.upload", "documents.view"); a producer's
scope (its own documents only) is applied by the services, answering 404 exactly like a missing id.
"""

from __future__ import annotations

from flask import abort, current_app, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.policy import permission_required
from app.documents import services
from app.documents.cli import register_documents_cli
from app.documents.models import Document
from app.extensions import db, limiter
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("documents", __name__, url_prefix="/documents", template_folder="templates")


@bp.record_once
def _register(state) -> None:
    register_documents_cli(state.app)  # `flask documents backfill-verified`


def _urls(document: Document) -> dict:
    return {
        "status_url": url_for("documents.status", document_id=document.id),
        "confirm_url": url_for("documents.confirm", document_id=document.id),
        "download_url": url_for("documents.download", document_id=document.id),
    }


def _error(error: services.DocumentError, status: int = 400):
    db.session.rollback()
    return jsonify(error=str(error)), status


def _presigner() -> str:
    return f"presign:{g.tenant.slug}:{current_user.get_id()}"


@bp.route("/presign", methods=["POST"])
@permission_required("documents.upload")
@limiter.limit(lambda: current_app.config["PRESIGN_RATE_LIMIT"], key_func=_presigner)
def presign():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error=_("Yêu cầu không hợp lệ.")), 400
    producer_id = services.uploader_producer_id(current_user, data.get("producer_id"))
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
@permission_required("documents.upload")
def confirm(document_id):
    document = services.document_get(current_user, document_id, "documents.upload")
    try:
        document = services.document_confirm(document.id)
    except services.DocumentError as error:
        return _error(error, 409)
    db.session.commit()  # the verification job is queued by this commit, never before it
    return jsonify(**services.document_status(document), **_urls(document)), 202


@bp.route("/<int:document_id>")
@permission_required("documents.view")
def status(document_id):
    document = services.document_get(current_user, document_id)
    response = jsonify(**services.document_status(document), **_urls(document))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:document_id>/download")
@permission_required("documents.view")
def download(document_id):
    document = services.document_get(current_user, document_id)
    try:
        url = services.document_download_url(document)
    except services.DocumentError:
        abort(404)  # nothing verified to hand out
    response = redirect(url, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response
