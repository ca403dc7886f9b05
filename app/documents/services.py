"""Evidence documents: direct uploads to object storage, confirmation, verification hand-off, downloads.

The app never carries file bytes. The browser asks for a presigned POST (server-chosen key under the
tenant's prefix, exact content type, size range, 15 minutes), sends the file straight to storage,
then confirms; the confirmation is committed before the verification job is queued, so a confirmed
upload is never lost (app/documents/jobs.py re-queues anything a dead worker left behind). Only an
accepted document can be downloaded, through a one-minute presigned GET that always downloads.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from datetime import date, timedelta
from urllib.parse import quote

from botocore.exceptions import ClientError
from dateutil.relativedelta import relativedelta
from flask import abort, current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import IntegrityError

from app.auth.policy import own_producer_id
from app.core import clock
from app.core.access import get_or_404
from app.core.storage import s3_client
from app.core.text import nfc
from app.documents.hooks import document_hooks
from app.documents.models import Document
from app.documents.verification import CONTENT_TYPE_ALIASES, KINDS
from app.extensions import db
from jobs.queues import enqueue_after_commit
from tenants.context import current_tenant_id
from tenants.models import Tenant

log = logging.getLogger(__name__)

PRESIGN_EXPIRES_SECONDS = 15 * 60
DOWNLOAD_EXPIRES_SECONDS = 60
MAX_VERIFY_ATTEMPTS = 5
# Object metadata (x-amz-meta-ocop-sha256) written by the verification job on the verified copy
# (Document.verified_key, which no presigned form covers); checked again at download time.
VERIFIED_SHA256_META = "ocop-sha256"
# pg_advisory_xact_lock(namespace, tenant): presigns of one tenant are checked against the quota in turn.
QUOTA_LOCK_NAMESPACE = 0x0C0D0C
REQUIREMENT_RE = re.compile(r"^[a-z0-9_]{1,64}$")
ACTIVE_STATUSES = ("awaiting_upload", "pending", "verifying", "accepted")
ALLOWED_CONTENT_TYPES = tuple(KINDS)
# Enqueued by name: the job module imports these services, never the other way round.
VERIFY_JOB = "app.documents.jobs.verify_document"


class DocumentError(ValueError):
    """A rule was broken; the message is translated and safe to show."""


def human_size(n: int) -> str:
    """1572864 -> '1,5 MB' (Vietnamese) / '1.5 MB'."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{format_decimal(n / factor, format='#,##0.#')} {unit}"
    return f"{n} B"


def allowed_labels() -> str:
    return ", ".join(kind.label for kind in KINDS.values())


def normalise_content_type(content_type: str | None) -> str:
    value = (content_type or "").split(";")[0].strip().lower()
    return CONTENT_TYPE_ALIASES.get(value, value)


def clean_filename(filename: str | None) -> str:
    """The name as the person knows it: NFC, no folders, no control characters, at most 255 characters."""
    name = nfc(filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".").strip()
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 16 else name[:255]
    return name


def new_storage_key(tenant_id: int) -> str:
    """Chosen by the server, never derived from anything the uploader sent."""
    return f"tenants/{tenant_id}/documents/{uuid.uuid4()}"


def tenant_quota_bytes(tenant_id: int) -> int:
    quota = db.session.scalar(select(Tenant.storage_quota_bytes).where(Tenant.id == tenant_id))
    return quota if quota is not None else current_app.config["STORAGE_QUOTA_BYTES"]


def _reserving():
    """A presign reserves its declared size only while its form can still be used: an abandoned one
    (nothing uploaded) stops blocking the province's uploads when the form expires."""
    return or_(
        Document.status != "awaiting_upload",
        Document.created_at > clock.now() - timedelta(seconds=PRESIGN_EXPIRES_SECONDS),
    )


def tenant_storage_used() -> int:
    """Bytes held or reserved by the current tenant's documents (a rejected one holds nothing)."""
    used = db.session.scalar(
        select(func.coalesce(func.sum(func.coalesce(Document.size, Document.declared_size)), 0)).where(
            Document.status.in_(ACTIVE_STATUSES), _reserving()
        )
    )
    return int(used)


def open_presigns(uploaded_by: int) -> int:
    """The user's presigns whose forms are still valid and not confirmed."""
    return db.session.scalar(
        select(func.count()).where(
            Document.uploaded_by == uploaded_by,
            Document.status == "awaiting_upload",
            Document.created_at > clock.now() - timedelta(seconds=PRESIGN_EXPIRES_SECONDS),
        )
    )


def _as_id(value) -> int | None:
    """An id from JSON or a form: a positive integer or its digits; nothing (None, "", 0) is None."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise DocumentError(_("Mã không hợp lệ."))
    return value


def document_get(user, document_id: int, action: str = "documents.view") -> Document:
    """One document the user may reach; another producer's (for a producer user) is as missing as a foreign one."""
    own = own_producer_id(user, action)
    return get_or_404(Document, document_id, *(() if own is None else (Document.producer_id == own,)))


def uploader_producer_id(user, requested):
    """The producer an upload is for: as requested, except that a producer user uploads only for its own
    (asking for another one answers 404 like a missing id)."""
    own = own_producer_id(user, "documents.upload")
    if own is None:
        return requested
    if requested not in (None, "", own, str(own)) or not own:
        abort(404)
    return own


def _parse_day(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DocumentError(_("Ngày không hợp lệ: %(value)s.", value=value)) from None


def document_validity(requirement: str, issued_on, valid_until) -> tuple[date | None, date | None]:
    """The document's own validity: as given, or the requirement's usual term from the issue date
    (e.g. a test report lasts 12 months), so the checklist can warn before it lapses."""
    issued_on, valid_until = _parse_day(issued_on), _parse_day(valid_until)
    if issued_on and issued_on > clock.today():
        raise DocumentError(_("Ngày cấp không được ở tương lai."))
    months = document_hooks().validity_months(requirement)
    if valid_until is None and issued_on and months:
        valid_until = issued_on + relativedelta(months=months)
    if issued_on and valid_until and valid_until < issued_on:
        raise DocumentError(_("Ngày hết hiệu lực phải sau ngày cấp."))
    return issued_on, valid_until


def document_presign(
    producer_id,
    product_id,
    requirement: str,
    filename: str,
    content_type: str,
    size,
    uploaded_by: int | None,
    title: str = "",
    issued_on=None,
    valid_until=None,
) -> tuple[Document, dict]:
    """Create the document (awaiting_upload) and the presigned POST that lets the browser send the file.

    Returns (document, {"url": …, "fields": {…}}); the caller commits. Refuses types outside the
    allowlist, sizes over UPLOAD_MAX_BYTES and uploads that would exceed the tenant's quota.
    """
    cfg = current_app.config
    tenant_id = current_tenant_id()
    requirement = (requirement or "").strip()
    if not REQUIREMENT_RE.match(requirement):
        raise DocumentError(_("Yêu cầu hồ sơ không hợp lệ."))
    name = clean_filename(filename)
    if not name:
        raise DocumentError(_("Tên tệp không hợp lệ."))
    content_type = normalise_content_type(content_type)
    if content_type not in KINDS:
        raise DocumentError(_("Loại tệp không được chấp nhận. Chỉ nhận %(kinds)s.", kinds=allowed_labels()))
    wanted = document_hooks().accepted_types(requirement)
    if wanted and content_type not in wanted:
        raise DocumentError(_("Tài liệu này chỉ nhận: %(kinds)s.", kinds=", ".join(sorted(wanted))))
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    if isinstance(size, bool) or not isinstance(size, int):
        raise DocumentError(_("Kích thước tệp không hợp lệ."))
    if size <= 0:
        raise DocumentError(_("Tệp rỗng."))
    if size > cfg["UPLOAD_MAX_BYTES"]:
        raise DocumentError(_("Tệp quá lớn: tối đa %(limit)s mỗi tệp.", limit=human_size(cfg["UPLOAD_MAX_BYTES"])))
    if uploaded_by is not None and open_presigns(uploaded_by) >= cfg["PRESIGN_OPEN_PER_USER"]:
        raise DocumentError(
            _("Bạn có quá nhiều tệp đang chờ tải lên; hãy tải xong các tệp đó hoặc đợi 15 phút rồi thử lại.")
        )
    owner_id, product_id = document_hooks().owner(_as_id(producer_id), _as_id(product_id))
    issued_on, valid_until = document_validity(requirement, issued_on, valid_until)

    # Two presigns of one tenant must not both fit in the last free bytes: take them in turn.
    db.session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, CAST(:tenant AS integer))"),
        {"namespace": QUOTA_LOCK_NAMESPACE, "tenant": tenant_id},
    )
    quota, used = tenant_quota_bytes(tenant_id), tenant_storage_used()
    if used + size > quota:
        raise DocumentError(
            _(
                "Vượt hạn mức lưu trữ của tỉnh (đã dùng %(used)s trên %(quota)s).",
                used=human_size(used),
                quota=human_size(quota),
            )
        )

    document = Document(
        producer_id=owner_id,
        product_id=product_id,
        requirement=requirement,
        title=nfc(title or "")[:300],
        original_filename=name,
        content_type=content_type,
        declared_size=size,
        storage_key=new_storage_key(tenant_id),
        status="awaiting_upload",
        verify_attempts=0,
        uploaded_by=uploaded_by,
        issued_on=issued_on,
        valid_until=valid_until,
    )
    db.session.add(document)
    db.session.flush()
    post = s3_client(public=True).generate_presigned_post(
        cfg["S3_BUCKET"],
        document.storage_key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, cfg["UPLOAD_MAX_BYTES"]]],
        ExpiresIn=PRESIGN_EXPIRES_SECONDS,
    )
    return document, {"url": post["url"], "fields": post["fields"]}


def _head(key: str) -> dict | None:
    try:
        return s3_client().head_object(Bucket=current_app.config["S3_BUCKET"], Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def delete_object(key: str) -> None:
    """Best effort: an object left behind costs space, never correctness."""
    try:
        s3_client().delete_object(Bucket=current_app.config["S3_BUCKET"], Key=key)
    except ClientError:
        log.warning("could not delete %s", key, exc_info=True)


def _lock(document_id: int) -> Document | None:
    return db.session.scalar(select(Document).where(Document.id == document_id).with_for_update())


def verification_job_id(tenant_id: int, document_id: int, attempt: int) -> str:
    """The one place the id is built: the reconciler looks the job up by it (a drift would re-queue all)."""
    return f"verify-{tenant_id}-{document_id}-{attempt}"


def queue_verification(document: Document) -> None:
    """Count the attempt and queue its job once the transaction commits (deterministic job id)."""
    document.verify_attempts = (document.verify_attempts or 0) + 1
    tenant_id = document.tenant_id
    enqueue_after_commit(
        "documents",
        VERIFY_JOB,
        tenant_id,
        document.id,
        job_id=verification_job_id(tenant_id, document.id, document.verify_attempts),
    )


def document_confirm(document_id: int) -> Document:
    """The browser says the file is in storage: check it is, then queue its verification.

    Idempotent: a document past awaiting_upload is returned as it is. The caller commits; the job
    is sent only after that commit.
    """
    document = _lock(document_id)
    if document is None:
        raise LookupError(document_id)
    if document.status != "awaiting_upload":
        return document
    head = _head(document.storage_key)
    if head is None:
        raise DocumentError(_("Chưa nhận được tệp trên kho lưu trữ; hãy tải lên lại."))
    if head["ContentLength"] != document.declared_size or head.get("ContentType") != document.content_type:
        # Not the file that was announced (and counted against the quota): it does not stay.
        delete_object(document.storage_key)
        raise DocumentError(_("Kích thước tệp trên kho lưu trữ không khớp với tệp đã khai báo; hãy tải lên lại."))
    document.status = "pending"
    document.size = head["ContentLength"]
    document.confirmed_at = clock.now()
    queue_verification(document)
    return document


def document_download_url(document: Document) -> str:
    """A one-minute presigned GET of an accepted document, always downloaded, with its own type.

    Only the verified copy is ever handed out, never the upload key (its form may still be valid).
    """
    if document.status != "accepted":
        raise DocumentError(_("Tệp chưa được kiểm tra xong."))
    head = _head(document.verified_key)
    if (
        head is None
        or head["ContentLength"] != document.size
        or head.get("Metadata", {}).get(VERIFIED_SHA256_META) != document.sha256
    ):
        log.warning("document %s/%s: stored object differs from the verified one", document.tenant_id, document.id)
        raise DocumentError(_("Tệp trên kho lưu trữ không còn là tệp đã được kiểm tra."))
    disposition = "attachment; filename*=UTF-8''" + quote(document.original_filename, safe="")
    return s3_client(public=True).generate_presigned_url(
        "get_object",
        Params={
            "Bucket": current_app.config["S3_BUCKET"],
            "Key": document.verified_key,
            "ResponseContentDisposition": disposition,
            "ResponseContentType": document.content_type,
            "ResponseCacheControl": "private, no-store",
        },
        ExpiresIn=DOWNLOAD_EXPIRES_SECONDS,
    )


def document_status(document: Document) -> dict:
    """What the uploader's page polls for (the stored Vietnamese reason, translated for the reader)."""
    return {
        "id": document.id,
        "status": document.status,
        "reject_reason": _(document.reject_reason) if document.reject_reason else None,
        "filename": document.original_filename,
        "content_type": document.content_type,
        "size": document.size if document.size is not None else document.declared_size,
        "sha256": document.sha256,
        "requirement": document.requirement,
        "producer_id": document.producer_id,
        "product_id": document.product_id,
    }


# A document may be taken back while nothing has been decided on it yet (or after it was refused).
REMOVABLE_STATUSES = ("awaiting_upload", "pending", "rejected")


def document_remove(user, document_id: int) -> None:
    """The uploader's side takes back a document before it is accepted (a wrong file): the row and its
    object go. An accepted one stays (it is evidence); one an application already uses stays too."""
    document = document_get(user, document_id, "documents.upload")
    if document.status not in REMOVABLE_STATUSES:
        raise DocumentError(
            _("Tài liệu đã được chấp nhận, không xóa được.")
            if document.status == "accepted"
            else _("Tài liệu đang được kiểm tra; hãy thử lại sau ít phút.")
        )
    key = document.storage_key
    try:
        with db.session.begin_nested():
            db.session.delete(document)
            db.session.flush()
    except IntegrityError:
        raise DocumentError(_("Tài liệu đang được một hồ sơ sử dụng, không xóa được.")) from None
    delete_object(key)
