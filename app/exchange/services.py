"""Excel imports as background jobs: the file is kept in object storage, a job imports it, and the
page follows its progress (rows done, kept in Redis while the import's transaction is open)."""

from __future__ import annotations

import io
import uuid
from dataclasses import asdict
from datetime import date

from flask import current_app
from flask_babel import gettext as _

from app.core import clock
from app.core.storage import s3_client
from app.exchange.reader import WorkbookError
from app.exchange.writer import import_workbook
from app.extensions import db
from app.registry.models import RegistryImport
from jobs.queues import enqueue_after_commit, redis_connection
from tenants.context import current_tenant_id

MAX_IMPORT_BYTES = 10 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROGRESS_TTL_SECONDS = 24 * 3600
IMPORT_TIMEOUT_SECONDS = 15 * 60  # 5,000 rows take well under a minute
# An import whose worker died this many times (memory, timeout) is given up with a clear status:
# the reconciler would otherwise queue the same poison file forever.
MAX_IMPORT_ATTEMPTS = 3
ATTEMPTS_TTL_SECONDS = 7 * 24 * 3600
# Enqueued by name: the job module imports this one, never the other way round.
IMPORT_JOB = "app.exchange.jobs.run_import"


def import_job_id(tenant_id: int, import_id: int) -> str:
    return f"import-{tenant_id}-{import_id}"


def _progress_key(tenant_id: int, import_id: int) -> str:
    return f"{current_app.config['RQ_QUEUE_PREFIX']}:import-progress:{tenant_id}:{import_id}"


def import_submit(data: bytes, filename: str, user_id: int | None, as_of: date | None = None) -> RegistryImport:
    """Keep the workbook in storage and queue its import (after commit); the caller commits."""
    if not data:
        raise WorkbookError(_("Tệp rỗng."))
    if len(data) > MAX_IMPORT_BYTES:
        raise WorkbookError(_("Tệp quá lớn: tối đa %(mb)d MB.", mb=MAX_IMPORT_BYTES // (1024 * 1024)))
    tenant_id = current_tenant_id()
    key = f"tenants/{tenant_id}/imports/{uuid.uuid4()}.xlsx"
    s3_client().put_object(Bucket=current_app.config["S3_BUCKET"], Key=key, Body=data, ContentType=XLSX)
    record = RegistryImport(filename=filename[:255], storage_key=key, status="queued", created_by=user_id, as_of=as_of)
    db.session.add(record)
    db.session.flush()
    enqueue_after_commit(
        "reports",
        IMPORT_JOB,
        tenant_id,
        record.id,
        job_id=import_job_id(tenant_id, record.id),
        job_timeout=IMPORT_TIMEOUT_SECONDS,
    )
    return record


def import_run(import_id: int) -> None:
    """The job's work: import the stored workbook; the rows and the report commit together."""
    record = db.session.get(RegistryImport, (current_tenant_id(), import_id))
    if record is None or record.status in ("done", "failed"):
        return  # a re-delivered job after the import finished does nothing
    attempts_key = f"{_progress_key(record.tenant_id, record.id)}:attempts"
    attempts = redis_connection().incr(attempts_key)  # counted before the work: a killed run counts too
    redis_connection().expire(attempts_key, ATTEMPTS_TTL_SECONDS)
    if attempts > MAX_IMPORT_ATTEMPTS:
        record.status = "failed"
        record.error = _(
            "Không nhập được tệp sau %(n)d lần thử (tệp quá nặng hoặc hỏng); hãy kiểm tra và chia nhỏ tệp rồi gửi lại.",
            n=MAX_IMPORT_ATTEMPTS,
        )
        record.finished_at = clock.now()
        return
    progress_key = _progress_key(record.tenant_id, record.id)
    body = s3_client().get_object(Bucket=current_app.config["S3_BUCKET"], Key=record.storage_key)["Body"].read()

    def progress(done: int, total: int) -> None:
        redis_connection().set(progress_key, f"{done}/{total}", ex=PROGRESS_TTL_SECONDS)

    try:
        report = import_workbook(io.BytesIO(body), progress=progress, as_of=record.as_of)
    except WorkbookError as error:
        db.session.rollback()
        record = db.session.get(RegistryImport, (current_tenant_id(), import_id))
        record.status, record.error = "failed", str(error)
    else:
        record.status = "done"
        record.report = {
            **{k: v for k, v in asdict(report).items() if k not in ("errors", "notes", "as_of")},
            "errors": [asdict(e) for e in report.errors],
            "notes": [asdict(e) for e in report.notes],
            "failed_rows": report.failed_rows,
        }
    record.finished_at = clock.now()


def import_progress(record: RegistryImport) -> tuple[int, int] | None:
    value = redis_connection().get(_progress_key(record.tenant_id, record.id))
    if not value:
        return None
    done, total = (int(part) for part in value.decode().split("/"))
    return done, total
