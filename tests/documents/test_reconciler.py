"""A confirmed upload is never lost: the reconciler re-queues what a dead worker or a lost job left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from rq.job import Job
from sqlalchemy import select, update

from app.documents.jobs import requeue_stalled_documents, requeue_stalled_verifications, verify_document
from app.documents.models import Document
from app.extensions import db
from jobs.queues import get_queue, redis_connection
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.documents.conftest import (
    PDF,
    load,
    pdf_bytes,
    post_to_storage,
    presign,
    sha256,
    stored_bytes,
    upload_and_confirm,
    work_documents_queue,
)
from tests.factories import producer_with_product

ROOT = Path(__file__).resolve().parents[2]


def _status(app, tenant_id, document_id) -> str:
    with app.app_context(), tenant_scope(tenant_id):
        status = db.session.scalar(select(Document.status).where(Document.id == document_id))
        db.session.commit()
        return status


def _set(app, tenant_id, document_id, **values):
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(update(Document).where(Document.id == document_id).values(**values))
        db.session.commit()


def _reconcile(app, tenant_id, minutes=0):
    with app.app_context():
        return requeue_stalled_documents(tenant_id, minutes)


def _kill_tree(pid: int) -> None:
    """SIGKILL a process we started and its descendants, children first."""
    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for process in family:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


def _large_pdf(megabytes: int) -> bytes:
    """A real PDF (verification parses it) padded to about `megabytes`."""
    return pdf_bytes(padding=megabytes * 1024 * 1024)


def _kill_a_worker_mid_verification(app, tenant_id, document_id) -> str:
    """Start a real worker (`python -m jobs.worker`, its own process group, as on a server), wait until
    it has the document `verifying`, then SIGKILL it and its work horse (machine lost, OOM killer).
    Returns the status seen a moment after the kill."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        cwd=ROOT,
        env=os.environ.copy(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _status(app, tenant_id, document_id) == "pending" and time.monotonic() < deadline:
            time.sleep(0.002)
        _kill_tree(worker.pid)
    finally:
        if worker.poll() is None:
            _kill_tree(worker.pid)
        worker.wait(timeout=10)
    time.sleep(0.3)
    return _status(app, tenant_id, document_id)


def test_a_confirmed_upload_survives_a_worker_killed_mid_verification(app, fresh_tenant, documents_queue):
    tenant_id, _slug = fresh_tenant
    producer = producer_with_product(app, tenant_id)
    data = _large_pdf(40)
    # Verifying 40 MB takes the worker ~0.1 s; on a machine fast enough to finish before the kill
    # lands, try again with a new upload (the assertions below are unchanged).
    for _attempt in range(3):
        documents_queue.empty()
        document_id = upload_and_confirm(app, tenant_id, producer[0], data, PDF, filename="lon.pdf")
        assert documents_queue.job_ids == [f"verify-{tenant_id}-{document_id}-1"]
        if (status := _kill_a_worker_mid_verification(app, tenant_id, document_id)) == "verifying":
            break
    assert status == "verifying"  # and nobody is finishing it

    counts = _reconcile(app, tenant_id)
    assert (counts["requeued"], counts["rejected"]) == (1, 0)
    document = load(app, tenant_id, document_id)
    assert (document.status, document.verify_attempts) == ("pending", 2)
    assert f"verify-{tenant_id}-{document_id}-2" in documents_queue.job_ids

    work_documents_queue(app)
    document = load(app, tenant_id, document_id)
    assert document.status == "accepted"
    assert (document.size, document.sha256) == (len(data), sha256(data))
    assert sha256(stored_bytes(app, document.verified_key)) == document.sha256


def _old(minutes=60):
    return datetime.now(UTC) - timedelta(minutes=minutes)


def test_after_five_attempts_the_reconciler_gives_up_with_a_reason(app, fresh_tenant, documents_queue):
    tenant_id, _slug = fresh_tenant
    producer = producer_with_product(app, tenant_id)
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    documents_queue.empty()  # the job is lost
    _set(app, tenant_id, document_id, status="verifying", verify_attempts=5, confirmed_at=_old())
    counts = _reconcile(app, tenant_id, minutes=15)
    assert (counts["requeued"], counts["rejected"]) == (0, 1)
    document = load(app, tenant_id, document_id)
    assert document.status == "rejected" and document.verify_attempts == 5
    assert document.reject_reason == "Không kiểm tra được tệp sau nhiều lần thử; vui lòng tải lên lại"
    assert stored_bytes(app, document.storage_key) is None
    assert not any(job_id.startswith(f"verify-{tenant_id}-{document_id}-") for job_id in documents_queue.job_ids)


def test_attempts_are_counted_up_to_the_limit(app, tenants, producer, documents_queue):
    tenant_id = tenants["bac-giang"]
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    for attempt in range(2, 6):
        documents_queue.empty()
        _set(app, tenant_id, document_id, confirmed_at=_old())
        _reconcile(app, tenant_id, minutes=15)
        assert load(app, tenant_id, document_id).verify_attempts == attempt
        assert f"verify-{tenant_id}-{document_id}-{attempt}" in documents_queue.job_ids
    documents_queue.empty()
    _reconcile(app, tenant_id, minutes=15)
    assert load(app, tenant_id, document_id).status == "rejected"


def test_a_job_waiting_in_the_queue_is_not_queued_twice(app, tenants, producer, documents_queue):
    tenant_id = tenants["bac-giang"]
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    _set(app, tenant_id, document_id, confirmed_at=_old())  # a long queue, not a lost job
    _reconcile(app, tenant_id, minutes=15)
    assert load(app, tenant_id, document_id).verify_attempts == 1
    assert documents_queue.job_ids.count(f"verify-{tenant_id}-{document_id}-1") == 1


def test_a_recent_failure_is_retried_only_once_the_delay_has_passed(app, tenants, producer, documents_queue):
    tenant_id = tenants["bac-giang"]
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    _set(app, tenant_id, document_id, confirmed_at=_old())
    with app.app_context():
        job = Job.fetch(f"verify-{tenant_id}-{document_id}-1", connection=redis_connection())
        get_queue("documents").remove(job)
        job.set_status("failed")  # e.g. storage was unreachable a minute ago
        job.ended_at = datetime.now(UTC)
        job.save()
    _reconcile(app, tenant_id, minutes=15)
    assert load(app, tenant_id, document_id).verify_attempts == 1
    _reconcile(app, tenant_id, minutes=0)
    assert load(app, tenant_id, document_id).verify_attempts == 2


def test_recent_verifications_are_left_alone(app, tenants, producer, documents_queue):
    tenant_id = tenants["bac-giang"]
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    documents_queue.empty()
    _reconcile(app, tenant_id, minutes=15)
    assert load(app, tenant_id, document_id).verify_attempts == 1


def test_unconfirmed_uploads_are_settled_once_their_form_expired(app, tenants, producer, documents_queue):
    tenant_id = tenants["ha-tinh"]
    producer_id, _product = producer_with_product(app, tenant_id)
    data = pdf_bytes()
    arrived, upload = presign(app, tenant_id, producer_id, data, PDF)
    assert post_to_storage(upload, data).status_code == 204  # the browser closed before confirming
    never, _ = presign(app, tenant_id, producer_id, data, PDF)
    recent, _ = presign(app, tenant_id, producer_id, data, PDF)
    for document_id in (arrived, never):
        _set(app, tenant_id, document_id, created_at=_old(45))
    counts = _reconcile(app, tenant_id, minutes=15)
    assert (counts["confirmed"], counts["expired"]) == (1, 1)
    assert load(app, tenant_id, never).reject_reason == "Tệp chưa được tải lên trong thời hạn"
    assert load(app, tenant_id, recent).status == "awaiting_upload"
    assert load(app, tenant_id, arrived).status == "pending"
    work_documents_queue(app)
    assert load(app, tenant_id, arrived).status == "accepted"


def test_the_system_job_fans_out_one_pass_per_tenant(app, tenants, producer, documents_queue):
    tenant_id = tenants["bac-giang"]
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    documents_queue.empty()
    _set(app, tenant_id, document_id, confirmed_at=_old())
    with app.app_context():
        active = set(db.session.scalars(select(Tenant.id).where(Tenant.is_active.is_(True))))
        assert set(tenants.values()) <= active  # the synced provinces, and those tests created
        assert requeue_stalled_verifications() == len(active)
        passes = [job_id for job_id in documents_queue.job_ids if job_id.startswith("requeue-documents-")]
        assert sorted(int(job_id.split("-")[2]) for job_id in passes) == sorted(active)
    work_documents_queue(app)  # the passes, then the verification they queued
    assert load(app, tenant_id, document_id).status == "accepted"


def test_the_reconciler_runs_every_five_minutes():
    import runpy

    from rq import cron

    before = list(cron._job_data_registry)
    try:
        runpy.run_path(str(ROOT / "jobs" / "cron_config.py"))
        entries = [e for e in cron._job_data_registry if e["func"] is requeue_stalled_verifications]
    finally:
        cron._job_data_registry[:] = before
    assert len(entries) == 1
    assert entries[0]["cron"] == "*/5 * * * *" and entries[0]["queue_name"].endswith(":documents")


def test_a_stalled_document_is_verified_by_the_next_attempt_alone(app, tenants, producer, documents_queue):
    """Two attempts queued for one document: the first to finish writes; the other changes nothing."""
    tenant_id = tenants["bac-giang"]
    document_id = upload_and_confirm(app, tenant_id, producer[0], pdf_bytes(), PDF)
    _set(app, tenant_id, document_id, confirmed_at=_old())
    documents_queue.empty()
    _reconcile(app, tenant_id)
    with app.app_context():
        first = verify_document(tenant_id, document_id)
        verified_at = load(app, tenant_id, document_id).verified_at
        second = verify_document(tenant_id, document_id)
    assert (first, second) == ("accepted", "accepted")
    assert load(app, tenant_id, document_id).verified_at == verified_at
