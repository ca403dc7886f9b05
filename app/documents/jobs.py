"""Verification of uploaded documents, and the reconciler that repairs what a lost job left undone.

verify_document streams the object (bounded memory), checks it against its declared type
(app/documents/verification.py), re-encodes images, stamps the verified object and records the
outcome. It is idempotent: a document already accepted or rejected is left alone, and the outcome
is written under a row lock so that two attempts of the same document cannot both write.

requeue_stalled_verifications fans out per tenant; each tenant's pass re-queues confirmed documents
whose verification stalled (a worker killed mid-way, a job lost with Redis), rejects them after
MAX_VERIFY_ATTEMPTS, and settles presigned uploads that were never confirmed.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from botocore.exceptions import ClientError
from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from app.core import clock
from app.core.observability import security_event
from app.core.storage import s3_client
from app.documents import verification
from app.documents.models import Document
from app.documents.services import (
    MAX_VERIFY_ATTEMPTS,
    PRESIGN_EXPIRES_SECONDS,
    VERIFIED_SHA256_META,
    DocumentError,
    delete_object,
    document_confirm,
    queue_verification,
    verification_job_id,
)
from app.extensions import db
from jobs.fanout import fan_out
from jobs.metrics import count_repairs
from jobs.queues import redis_connection
from jobs.wrapper import system_job, tenant_job
from tenants.context import current_tenant_id

log = logging.getLogger(__name__)

# A verification whose job showed no sign of life for this long is presumed lost.
DEFAULT_STALLED_AFTER_MINUTES = 15
RECONCILE_EVERY_MINUTES = 5  # the cron schedule of requeue_stalled_verifications (jobs/cron_config.py)
# A presigned upload never confirmed is settled once its form has expired and a slow line had time.
UNCONFIRMED_GRACE = timedelta(seconds=PRESIGN_EXPIRES_SECONDS) + timedelta(minutes=15)
WAITING_STATUSES = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


class ObjectChanged(RuntimeError):
    """The object was replaced while it was being verified; a later attempt verifies the new one."""


def _document(document_id: int, *, lock: bool = False) -> Document | None:
    query = select(Document).where(Document.id == document_id)
    return db.session.scalar(query.with_for_update() if lock else query)


@tenant_job
def verify_document(document_id: int) -> str:
    """Verify one confirmed document of the current tenant; returns its final status."""
    document = _document(document_id)
    if document is None or document.status not in ("pending", "verifying"):
        return document.status if document else "missing"
    document.status = "verifying"
    key, content_type = document.storage_key, document.content_type
    db.session.commit()  # visible while the bytes stream; a worker dying here leaves it to the reconciler

    cfg = current_app.config
    s3 = s3_client()
    with tempfile.TemporaryDirectory(prefix="ocop-verify-") as workdir:
        try:
            outcome, etag = _inspect(s3, cfg["S3_BUCKET"], key, content_type, Path(workdir), cfg["UPLOAD_MAX_BYTES"])
        except verification.Rejected as rejected:
            return _finish_rejected(document_id, rejected.reason)
        return _finish_accepted(document_id, s3, cfg["S3_BUCKET"], key, content_type, outcome, etag)


def _inspect(s3, bucket: str, key: str, content_type: str, workdir: Path, max_bytes: int):
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise verification.Rejected(verification.REASON_MISSING) from None
        raise
    body = response["Body"]
    try:
        outcome = verification.inspect_upload(
            body.iter_chunks(verification.CHUNK_BYTES), content_type, workdir, max_bytes=max_bytes
        )
    finally:
        body.close()
    return outcome, response["ETag"]


def _finish_accepted(
    document_id: int, s3, bucket: str, key: str, content_type: str, outcome: verification.Outcome, etag: str
) -> str:
    document = _document(document_id, lock=True)  # one attempt writes the outcome, and the object
    if document is None or document.status != "verifying":
        return document.status if document else "missing"
    metadata = {VERIFIED_SHA256_META: outcome.sha256}
    # The verified bytes go to a key no presigned form covers: the upload form stays valid for its
    # lifetime, and a replay must not replace what was accepted.
    target = document.verified_key
    if outcome.replacement is not None:
        with outcome.replacement.open("rb") as reencoded:
            s3.put_object(Bucket=bucket, Key=target, Body=reencoded, ContentType=content_type, Metadata=metadata)
    else:
        # Copy the bytes that were read, and only those (the upload may have been replaced meanwhile).
        try:
            s3.copy_object(
                Bucket=bucket,
                Key=target,
                CopySource={"Bucket": bucket, "Key": key},
                CopySourceIfMatch=etag,
                MetadataDirective="REPLACE",
                Metadata=metadata,
                ContentType=content_type,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise ObjectChanged(key) from None
            raise
    document.status = "accepted"
    document.size = outcome.size
    document.sha256 = outcome.sha256
    document.reject_reason = None
    document.verified_at = clock.now()
    db.session.commit()
    delete_object(key)  # the upload is no longer needed (a replay may put it back: it is never served)
    return "accepted"


def _finish_rejected(document_id: int, reason: str) -> str:
    document = _document(document_id, lock=True)
    if document is None or document.status != "verifying":
        return document.status if document else "missing"
    _reject(document, reason)
    return document.status


def _reject(document: Document, reason: str) -> None:
    """Rejected documents hold no storage (and count for nothing in the quota)."""
    document.status = "rejected"
    document.reject_reason = reason
    security_event("upload_rejected", document=document.id, reason=reason)
    document.verified_at = clock.now()
    db.session.commit()
    delete_object(document.storage_key)
    delete_object(document.verified_key)


def _last_sign_of_life(document: Document, tenant_id: int) -> datetime | None:
    """When the current attempt's job last did something; None while it waits in a queue."""
    job_id = verification_job_id(tenant_id, document.id, document.verify_attempts)
    try:
        job = Job.fetch(job_id, connection=redis_connection())
    except NoSuchJobError:
        return document.confirmed_at  # gone with Redis, or expired: only the database knows
    if job.get_status(refresh=False) in WAITING_STATUSES:
        return None  # not lost, just not started yet
    moments = [m for m in (job.enqueued_at, job.started_at, job.last_heartbeat, job.ended_at) if m is not None]
    moments = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments]
    return max(moments, default=document.confirmed_at)


@tenant_job
def requeue_stalled_documents(stalled_after_minutes: float | None = None) -> dict:
    """One tenant's pass: re-queue stalled verifications, give up after MAX_VERIFY_ATTEMPTS,
    settle presigned uploads that were never confirmed. Returns counts."""
    tenant_id = current_tenant_id()
    minutes = stalled_after_minutes
    if minutes is None:
        minutes = current_app.config.get("DOCUMENT_VERIFY_STALLED_MINUTES", DEFAULT_STALLED_AFTER_MINUTES)
    cutoff = clock.now() - timedelta(minutes=minutes)
    counts = {"requeued": 0, "rejected": 0, "confirmed": 0, "expired": 0}

    stalled = db.session.scalars(
        select(Document)
        .where(Document.status.in_(("pending", "verifying")), Document.confirmed_at <= cutoff)
        .order_by(Document.id)
        .with_for_update(skip_locked=True)  # a document being finalised right now is not stalled
    ).all()
    ids_to_reject = []
    for document in stalled:
        last = _last_sign_of_life(document, tenant_id)
        if last is None or last > cutoff:
            continue
        if document.verify_attempts >= MAX_VERIFY_ATTEMPTS:
            ids_to_reject.append(document.id)
            continue
        document.status = "pending"
        queue_verification(document)
        counts["requeued"] += 1
    db.session.commit()  # the jobs are sent now, after the rows that they verify
    count_repairs("documents", counts["requeued"])

    for document_id in ids_to_reject:
        document = _document(document_id, lock=True)
        if document is not None and document.status in ("pending", "verifying"):
            _reject(document, verification.REASON_GAVE_UP)
            counts["rejected"] += 1

    counts.update(_settle_unconfirmed())
    return counts


def _settle_unconfirmed() -> dict:
    """A presign whose form expired long ago: the file arrived (confirm on the uploader's behalf) or not."""
    counts = {"confirmed": 0, "expired": 0}
    old = db.session.scalars(
        select(Document.id).where(
            Document.status == "awaiting_upload", Document.created_at <= clock.now() - UNCONFIRMED_GRACE
        )
    ).all()
    for document_id in old:
        try:
            document = document_confirm(document_id)
        except DocumentError:
            db.session.rollback()
            document = _document(document_id, lock=True)
            if document is not None and document.status == "awaiting_upload":
                _reject(document, verification.REASON_NOT_UPLOADED)
                counts["expired"] += 1
            continue
        db.session.commit()  # and its verification is queued
        counts["confirmed"] += 1
    return counts


@system_job
def requeue_stalled_verifications(stalled_after_minutes: float | None = None) -> int:
    """Fan out one reconciler pass per active tenant (cron, every 5 minutes); idempotent per slot."""
    return fan_out(
        "documents",
        requeue_stalled_documents,
        stalled_after_minutes,
        name="requeue-documents",
        every=timedelta(minutes=RECONCILE_EVERY_MINUTES),
    )
