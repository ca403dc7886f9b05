"""Verification of uploaded documents, and the reconciler that repairs what a lost job left undone.

verify_document streams the object (bounded memory), checks it against its declared type
(app/documents/verification.py), re-encodes images, stamps the verified object and records the
outcome. It is idempotent: a document already accepted or rejected is left alone, and the outcome
is written under a row lock so that two attempts of the same document cannot both write.

requeue_stalled_verifications fans out per tenant; each tenant's pass re-queues confirmed documents
whose verification stalled (a worker killed mid-way, a job lost with Redis), rejects them after
MAX_VERIFY_ATTEMPTS, and settles presigned uploads that were never confirmed.

backfill_verified_documents (one-off, `flask documents backfill-verified`) gives documents accepted before
verified copies existed their copy when the stored bytes are still the accepted ones, and asks for a new
upload (REASON_CHANGED) when they are not; it is idempotent, resumable and runs per tenant.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from botocore.exceptions import ClientError
from flask import current_app
from rq import get_current_job
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
from jobs.fanout import fan_out, time_slot
from jobs.metrics import count_repairs
from jobs.queues import enqueue_now, redis_connection
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


def _reject(document: Document, reason: str, *, event: str = "upload_rejected", keep_upload: bool = False) -> None:
    """Rejected documents hold no storage (and count for nothing in the quota); `keep_upload` leaves the
    uploaded object where it is (the backfill keeps a file that differs from the accepted one, for whoever
    looks into how it changed)."""
    document.status = "rejected"
    document.reject_reason = reason
    security_event(event, tenant_id=document.tenant_id, document=document.id, reason=reason)
    document.verified_at = clock.now()
    db.session.commit()
    if not keep_upload:
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


# --------------------------------------------------------------------------- backfill of verified copies
#
# Documents accepted before verified copies existed (commit 523dbb5, issue 12 item 1) have their bytes at
# the upload key only, and downloads now hand out the verified key alone: they cannot be downloaded. The
# backfill gives each of them its verified copy when the stored bytes are still those that were accepted.

BACKFILL_BATCH = 50  # documents per keyset page (ids, then one short transaction per document)
# One job works at most this long (or this many documents), then queues its continuation from the last
# id it finished, so a worker of the documents queue keeps serving verifications in between.
BACKFILL_JOB_SECONDS = 120
BACKFILL_JOB_DOCUMENTS = 5000
BACKFILL_JOB_TIMEOUT = 30 * 60  # a last batch of large files still fits
BACKFILL_EVERY = timedelta(hours=1)  # the fan-out's slot: a command run twice within it queues nothing more
BACKFILL_OUTCOMES = ("present", "copied", "mismatched", "missing", "changed", "skipped")
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")


def _backfill_counts(counts: dict | None = None) -> dict:
    return {"checked": 0, **dict.fromkeys(BACKFILL_OUTCOMES, 0), **(counts or {})}


def _object_exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return False
        raise
    return True


def _stored_digest(s3, bucket: str, key: str, expected_size: int | None) -> tuple[str | None, int, str] | None:
    """(sha256, size, ETag) of the object, streamed in chunks; None when there is no object. An object of
    another size than expected is not read at all (its sha256 is None): it cannot be the accepted one."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return None
        raise
    body, size = response["Body"], response["ContentLength"]
    try:
        if size != expected_size:
            return None, size, response["ETag"]
        digest = hashlib.sha256()
        for chunk in body.iter_chunks(verification.CHUNK_BYTES):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest(), size, response["ETag"]


def _backfill_one(document_id: int, s3, bucket: str) -> str:
    """One document, under its row lock (a second run at the same time waits, then finds the copy made)."""
    document = _document(document_id, lock=True)
    if document is None or document.status != "accepted":
        db.session.commit()
        return "skipped"
    if _object_exists(s3, bucket, document.verified_key):
        db.session.commit()
        return "present"
    found = _stored_digest(s3, bucket, document.storage_key, document.size)
    if found is None:
        db.session.commit()  # nothing to copy (e.g. the generator's metadata-only documents): left as it is
        return "missing"
    sha, size, etag = found
    if document.sha256 is None or (sha, size) != (document.sha256, document.size):
        log.warning(
            "backfill: document %s/%s stored %s bytes (sha256 %s), accepted %s bytes (sha256 %s)",
            document.tenant_id,
            document.id,
            size,
            sha or "not read",
            document.size,
            document.sha256,
        )
        # The document asks for a new upload (commits); the stored object stays as it is.
        _reject(document, verification.REASON_CHANGED, event="verified_file_differs", keep_upload=True)
        return "mismatched"
    try:
        # Exactly the bytes that were hashed (the same guard as _finish_accepted).
        s3.copy_object(
            Bucket=bucket,
            Key=document.verified_key,
            CopySource={"Bucket": bucket, "Key": document.storage_key},
            CopySourceIfMatch=etag,
            MetadataDirective="REPLACE",
            Metadata={VERIFIED_SHA256_META: document.sha256},
            ContentType=document.content_type,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            db.session.commit()
            return "changed"  # replaced while it was read: left for the next run, which reads it again
        raise
    key = document.storage_key
    db.session.commit()
    delete_object(key)  # as after a verification: only the verified copy is kept
    return "copied"


def documents_backfill_verified(
    *,
    batch_size: int = BACKFILL_BATCH,
    after_id: int = 0,
    counts: dict | None = None,
    progress: Callable[[dict, int], None] | None = None,
    stop: Callable[[dict], bool] | None = None,
) -> tuple[dict, int | None]:
    """Give the current tenant's accepted documents without a verified copy their copy, when the stored
    bytes are still those accepted (same sha256 and size); otherwise reject them with REASON_CHANGED.

    Walks accepted documents with id > after_id in keyset pages of `batch_size`, one short transaction and
    row lock per document. Idempotent: a document with a verified copy is only counted ("present"). Counts
    (added to `counts`): checked, present, copied, mismatched, missing (no object at all), changed (replaced
    during the copy: the next run reads it again), skipped (no longer accepted when locked). `progress`
    is called after each page with the counts and the last id done; `stop(counts)` ends the walk early.
    Returns (counts, last id done) — the id is None when the walk reached the end.
    """
    counts = _backfill_counts(counts)
    s3, bucket = s3_client(), current_app.config["S3_BUCKET"]
    last = after_id
    while True:
        ids = db.session.scalars(
            select(Document.id)
            .where(Document.status == "accepted", Document.id > last)
            .order_by(Document.id)
            .limit(batch_size)
        ).all()
        db.session.commit()
        if not ids:
            return counts, None
        for document_id in ids:
            counts[_backfill_one(document_id, s3, bucket)] += 1
            counts["checked"] += 1
        last = ids[-1]
        if progress is not None:
            progress(counts, last)
        if len(ids) < batch_size:
            return counts, None
        if stop is not None and stop(counts):
            return counts, last


def backfill_job_id(tenant_id: int, after_id: int, slot: str) -> str:
    """The fan-out's job is `backfill-verified-<tenant>-<slot>`; each continuation adds the id it starts after."""
    base = f"backfill-verified-{tenant_id}-{slot}"
    return base if after_id == 0 else f"{base}-after-{after_id}"


@tenant_job
def backfill_verified_documents(
    batch_size: int = BACKFILL_BATCH, after_id: int = 0, counts: dict | None = None, slot: str | None = None
) -> dict:
    """One tenant's backfill, in chunks: this job works up to BACKFILL_JOB_SECONDS / BACKFILL_JOB_DOCUMENTS,
    then queues its continuation (deterministic id) with the counts so far. Progress: a log line per page
    and the job's meta ("backfill": counts and last id). Returns the counts so far and whether it is done."""
    tenant_id = current_tenant_id()
    slot = slot or time_slot(BACKFILL_EVERY)
    job = get_current_job()
    started, before = time.monotonic(), (counts or {}).get("checked", 0)

    def progress(so_far: dict, last_id: int) -> None:
        log.info("backfill-verified tenant %s through id %s: %s", tenant_id, last_id, so_far)
        if job is not None:
            job.meta["backfill"] = {"counts": dict(so_far), "last_id": last_id}
            job.save_meta()

    def stop(so_far: dict) -> bool:
        return time.monotonic() - started > BACKFILL_JOB_SECONDS or so_far["checked"] - before >= BACKFILL_JOB_DOCUMENTS

    # A retried job (timeout, dead worker) goes on from the last page its meta recorded.
    saved = (job.meta.get("backfill") if job is not None else None) or {}
    result, last = documents_backfill_verified(
        batch_size=batch_size,
        after_id=saved.get("last_id", after_id),
        counts=saved.get("counts", counts),
        progress=progress,
        stop=stop,
    )
    if last is None:
        log.info("backfill-verified tenant %s done: %s", tenant_id, result)
        return {**result, "done": True}
    job_id = backfill_job_id(tenant_id, last, slot)
    if not Job.exists(job_id, connection=redis_connection()):
        enqueue_now(
            "documents",
            backfill_verified_documents,
            tenant_id,
            batch_size,
            last,
            result,
            slot,
            job_id=job_id,
            job_timeout=BACKFILL_JOB_TIMEOUT,
        )
    return {**result, "done": False, "continued_by": job_id}


def backfill_verified_queue(tenant_id: int, batch_size: int = BACKFILL_BATCH) -> str | None:
    """Queue one tenant's backfill (the fan-out's id for this slot); None when this slot's job is known."""
    slot = time_slot(BACKFILL_EVERY)
    job_id = backfill_job_id(tenant_id, 0, slot)
    if Job.exists(job_id, connection=redis_connection()):
        return None
    enqueue_now(
        "documents",
        backfill_verified_documents,
        tenant_id,
        batch_size,
        0,
        None,
        slot,
        job_id=job_id,
        job_timeout=BACKFILL_JOB_TIMEOUT,
    )
    return job_id


@system_job
def backfill_verified_everywhere(batch_size: int = BACKFILL_BATCH) -> int:
    """One backfill job per active tenant (ids `backfill-verified-<tenant>-<slot>`); returns how many tenants."""
    return fan_out(
        "documents",
        backfill_verified_documents,
        batch_size,
        0,
        None,
        time_slot(BACKFILL_EVERY),
        name="backfill-verified",
        every=BACKFILL_EVERY,
        job_timeout=BACKFILL_JOB_TIMEOUT,
    )
