"""The one-off backfill of verified copies (issue 12, item 1 leftover), on real SeaweedFS.

Documents accepted before verified copies existed kept their bytes (and the sha256 stamp) at the upload
key only; downloads now hand out the verified key alone. A legacy document is simulated as exactly that:
uploaded, verified, then its bytes put back at the upload key and its verified copy deleted.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests
from flask_babel import force_locale
from rq.job import Job
from sqlalchemy import select

from app.core.observability import security_log
from app.core.storage import s3_client
from app.documents import jobs as document_jobs
from app.documents import services, verification
from app.documents.jobs import (
    backfill_job_id,
    backfill_verified_documents,
    backfill_verified_everywhere,
    documents_backfill_verified,
    verify_document,
)
from app.documents.models import Document
from app.documents.services import VERIFIED_SHA256_META, DocumentError
from app.extensions import db
from jobs.fanout import time_slot
from jobs.queues import redis_connection
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.documents.conftest import (
    HTML,
    PDF,
    PNG,
    load,
    pdf_bytes,
    png_bytes,
    sha256,
    stored_bytes,
    upload_and_confirm,
    work_documents_queue,
)
from tests.factories import document_accepted, new_tenant, producer_with_product, signed_in, user_of_role
from tests.race import at_once

ZERO = {"checked": 0, "present": 0, "copied": 0, "mismatched": 0, "missing": 0, "changed": 0, "skipped": 0}


def _counts(**nonzero) -> dict:
    return {**ZERO, **nonzero}


def _s3_put(app, key: str, data: bytes, **extra) -> None:
    with app.app_context():
        s3_client().put_object(Bucket=app.config["S3_BUCKET"], Key=key, Body=data, **extra)


def _legacy_accepted(app, tenant_id: int, producer_id: int, data: bytes, content_type: str = PDF) -> tuple[int, bytes]:
    """An accepted document as verification left it before verified copies: its accepted bytes (and their
    sha256 stamp) at the upload key, nothing at the verified key. Returns (id, the accepted bytes)."""
    document_id = upload_and_confirm(app, tenant_id, producer_id, data, content_type)
    with app.app_context():
        assert verify_document(tenant_id, document_id) == "accepted"
    document = load(app, tenant_id, document_id)
    accepted = stored_bytes(app, document.verified_key)
    assert (len(accepted), sha256(accepted)) == (document.size, document.sha256)
    with app.app_context():
        s3, bucket = s3_client(), app.config["S3_BUCKET"]
        s3.put_object(
            Bucket=bucket,
            Key=document.storage_key,
            Body=accepted,
            ContentType=content_type,
            Metadata={VERIFIED_SHA256_META: document.sha256},
        )
        s3.delete_object(Bucket=bucket, Key=document.verified_key)
    assert stored_bytes(app, document.verified_key) is None
    return document_id, accepted


def _slot(app) -> str:
    with app.app_context():
        return time_slot(document_jobs.BACKFILL_EVERY)


def _run(app, tenant_id: int, **kwargs) -> dict:
    with app.app_context():
        result = backfill_verified_documents(tenant_id, **kwargs)
    assert result.pop("done") is True
    return result


def _served(app, tenant_id: int, document_id: int) -> bytes:
    with app.app_context(), tenant_scope(tenant_id):
        url = services.document_download_url(load(app, tenant_id, document_id))
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    return response.content


def _not_served(app, tenant_id: int, document_id: int) -> str:
    with app.app_context(), tenant_scope(tenant_id), pytest.raises(DocumentError) as refused:
        services.document_download_url(load(app, tenant_id, document_id))
    return str(refused.value)


def _metadata(app, key: str) -> dict:
    with app.app_context():
        return s3_client().head_object(Bucket=app.config["S3_BUCKET"], Key=key)["Metadata"]


def _rows(app, tenant_id: int) -> dict:
    """What the backfill may change on a row, per id."""
    with app.app_context(), tenant_scope(tenant_id):
        rows = db.session.execute(
            select(Document.id, Document.status, Document.size, Document.sha256, Document.reject_reason)
        ).all()
        db.session.commit()
    return {row.id: tuple(row[1:]) for row in rows}


@pytest.fixture()
def security_events():
    """The security events logged during the test, as dicts."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    from pythonjsonlogger.json import JsonFormatter

    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    saved = security_log.handlers[:], security_log.level, security_log.propagate, security_log.disabled
    security_log.handlers[:] = [handler]
    security_log.setLevel(logging.INFO)
    security_log.propagate, security_log.disabled = False, False
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    security_log.handlers[:], security_log.level, security_log.propagate, security_log.disabled = saved


# --------------------------------------------------------------------------- copied


def test_documents_accepted_before_verified_copies_become_downloadable_with_the_same_bytes(
    app, fresh_tenant, documents_queue
):
    tenant_id, _slug = fresh_tenant
    producer_id, _product_id = producer_with_product(app, tenant_id)
    pdf_id, pdf = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes(padding=3000))
    # An image was accepted re-encoded: the accepted bytes are those of the re-encoding.
    png_id, png = _legacy_accepted(app, tenant_id, producer_id, png_bytes(junk=b"Z" * 500), PNG)
    before = _rows(app, tenant_id)
    for document_id in (pdf_id, png_id):
        assert _not_served(app, tenant_id, document_id) == "Tệp trên kho lưu trữ không còn là tệp đã được kiểm tra."

    assert _run(app, tenant_id) == _counts(checked=2, copied=2)

    assert _rows(app, tenant_id) == before  # nothing about the documents themselves changed
    for document_id, data in ((pdf_id, pdf), (png_id, png)):
        document = load(app, tenant_id, document_id)
        assert _served(app, tenant_id, document_id) == data
        assert stored_bytes(app, document.verified_key) == data
        assert _metadata(app, document.verified_key) == {VERIFIED_SHA256_META: sha256(data)}
        assert stored_bytes(app, document.storage_key) is None  # as after a verification: the copy alone

    # A second run changes nothing, and says so.
    assert _run(app, tenant_id) == _counts(checked=2, present=2)
    assert _rows(app, tenant_id) == before
    assert _served(app, tenant_id, pdf_id) == pdf and _served(app, tenant_id, png_id) == png


def test_an_existing_verified_copy_is_never_replaced_from_the_upload_key(app, fresh_tenant, documents_queue):
    """A document accepted after the change has its copy; a replay that put other bytes at its upload key
    (the form lives 15 minutes) must not reach the copy through the backfill."""
    tenant_id, _slug = fresh_tenant
    producer_id, _product_id = producer_with_product(app, tenant_id)
    data = pdf_bytes()
    document_id = upload_and_confirm(app, tenant_id, producer_id, data, PDF)
    with app.app_context():
        assert verify_document(tenant_id, document_id) == "accepted"
    document = load(app, tenant_id, document_id)
    replayed = b"%PDF-1.4\n" + HTML.ljust(len(data) - 9, b" ")
    _s3_put(app, document.storage_key, replayed, Metadata={VERIFIED_SHA256_META: sha256(data)})

    assert _run(app, tenant_id) == _counts(checked=1, present=1)
    assert _served(app, tenant_id, document_id) == data
    assert stored_bytes(app, document.storage_key) == replayed  # not the backfill's business: never served


# --------------------------------------------------------------------------- not the accepted bytes


def test_a_file_replaced_since_acceptance_is_never_served_and_asks_for_a_new_upload(
    app, fresh_tenant, documents_queue, security_events
):
    tenant_id, slug = fresh_tenant
    producer_id, _product_id = producer_with_product(app, tenant_id)
    same_size_id, data = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes())
    other_size_id, other = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes(padding=100))
    kept_id, kept = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes(padding=200))
    # The attack of issue 12 before the fix: the form replayed with other bytes of the same size and the
    # stamp the download check trusted; and a plain replay of another size.
    swapped = b"%PDF-1.4\n" + HTML.ljust(len(data) - 9, b" ")
    assert len(swapped) == len(data) and swapped != data
    same_size = load(app, tenant_id, same_size_id)
    _s3_put(app, same_size.storage_key, swapped, ContentType=PDF, Metadata={VERIFIED_SHA256_META: sha256(data)})
    other_size = load(app, tenant_id, other_size_id)
    _s3_put(app, other_size.storage_key, b"%PDF-1.4 short", ContentType=PDF)
    before = _rows(app, tenant_id)

    assert _run(app, tenant_id) == _counts(checked=3, mismatched=2, copied=1)

    reason = "Tệp trên kho lưu trữ khác với tệp đã được chấp nhận; vui lòng tải lên lại"
    assert reason == verification.REASON_CHANGED
    after = _rows(app, tenant_id)
    for document_id in (same_size_id, other_size_id):
        status, size, sha, rejected_because = after[document_id]
        assert (status, rejected_because) == ("rejected", reason)
        assert (size, sha) == before[document_id][1:3]  # what was accepted stays on record
        assert _not_served(app, tenant_id, document_id) == "Tệp chưa được kiểm tra xong."
        assert stored_bytes(app, load(app, tenant_id, document_id).verified_key) is None
    # The uploads stay exactly as they were found.
    assert stored_bytes(app, same_size.storage_key) == swapped
    assert stored_bytes(app, other_size.storage_key) == b"%PDF-1.4 short"
    assert after[kept_id] == before[kept_id] and _served(app, tenant_id, kept_id) == kept

    events = [e for e in security_events() if e.get("event") == "verified_file_differs"]
    assert sorted(e["document"] for e in events) == sorted((same_size_id, other_size_id))
    assert {e["tenant_id"] for e in events} == {tenant_id} and {e["reason"] for e in events} == {reason}

    # The producer is told why, in either language; the download answers 404 like any unverified file.
    _user_id, email = user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    client = signed_in(app, slug, email)
    assert client.get(f"/{slug}/documents/{same_size_id}/download").status_code == 404
    assert client.get(f"/{slug}/documents/{same_size_id}").get_json()["reject_reason"] == reason
    with app.test_request_context(), force_locale("en"), tenant_scope(tenant_id):
        shown = services.document_status(load(app, tenant_id, same_size_id))
    assert shown["status"] == "rejected"
    assert shown["reject_reason"] == "The stored file differs from the accepted one; please upload it again"

    # Nothing is marked accepted again, nothing more is touched.
    assert _run(app, tenant_id) == _counts(checked=1, present=1)
    assert _rows(app, tenant_id) == after
    assert stored_bytes(app, same_size.storage_key) == swapped


def test_documents_without_any_object_are_counted_as_missing_and_left_as_they_are(app, fresh_tenant, documents_queue):
    tenant_id, _slug = fresh_tenant
    producer_id, product_id = producer_with_product(app, tenant_id)
    # The demo generator's documents: rows with a size and a sha256, no object anywhere.
    metadata_only = [document_accepted(app, tenant_id, producer_id, product_id) for _ in range(3)]
    copied_id, data = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes())
    before = _rows(app, tenant_id)

    assert _run(app, tenant_id) == _counts(checked=4, missing=3, copied=1)
    assert _rows(app, tenant_id) == before
    for document_id in metadata_only:
        assert _not_served(app, tenant_id, document_id) == "Tệp trên kho lưu trữ không còn là tệp đã được kiểm tra."
    assert _served(app, tenant_id, copied_id) == data

    assert _run(app, tenant_id) == _counts(checked=4, missing=3, present=1)
    assert _rows(app, tenant_id) == before


# --------------------------------------------------------------------------- at once, in pages, per province


def test_two_runs_at_once_copy_each_document_once(app, fresh_tenant, documents_queue, monkeypatch):
    tenant_id, _slug = fresh_tenant
    producer_id, _product_id = producer_with_product(app, tenant_id)
    legacy = dict(_legacy_accepted(app, tenant_id, producer_id, pdf_bytes(padding=n)) for n in range(6))

    copies = []  # every CopyObject request the backfill sends, from either thread
    real_client = document_jobs.s3_client

    def counting_client(**kwargs):
        client = real_client(**kwargs)
        client.meta.events.register("before-call.s3.CopyObject", lambda params, **_: copies.append(params["url_path"]))
        return client

    monkeypatch.setattr(document_jobs, "s3_client", counting_client)
    results = at_once(
        app,
        tenant_id,
        ["first", "second"],
        read=lambda attempt: None,
        act=lambda attempt, shown: documents_backfill_verified(batch_size=4)[0],
        errors=DocumentError,
    )
    assert [r["checked"] for r in results] == [6, 6]
    assert sum(r["copied"] for r in results) == 6 and sum(r["present"] for r in results) == 6
    assert all(r["mismatched"] == r["missing"] == r["changed"] == r["skipped"] == 0 for r in results)
    assert len(copies) == 6 and len(set(copies)) == 6
    for document_id, data in legacy.items():
        assert _served(app, tenant_id, document_id) == data


def test_a_long_backfill_goes_on_in_further_jobs_from_where_it_stopped(app, fresh_tenant, documents_queue, monkeypatch):
    tenant_id, _slug = fresh_tenant
    producer_id, product_id = producer_with_product(app, tenant_id)
    legacy = dict(_legacy_accepted(app, tenant_id, producer_id, pdf_bytes(padding=n)) for n in range(3))
    missing = [document_accepted(app, tenant_id, producer_id, product_id) for _ in range(2)]
    ids = sorted([*legacy, *missing])
    documents_queue.empty()  # the verification jobs the uploads queued (already done above)
    monkeypatch.setattr(document_jobs, "BACKFILL_JOB_DOCUMENTS", 2)  # two pages of one per job

    slot = _slot(app)
    with app.app_context():
        first = backfill_verified_documents(tenant_id, 1, 0, None, slot)
    assert first == {
        **_counts(checked=2, copied=2),
        "done": False,
        "continued_by": backfill_job_id(tenant_id, ids[1], slot),
    }
    work_documents_queue(app)  # the continuations: ids 3-4, then 5 and the end

    with app.app_context():
        connection = redis_connection()
    second = Job.fetch(backfill_job_id(tenant_id, ids[1], slot), connection=connection)
    third = Job.fetch(backfill_job_id(tenant_id, ids[3], slot), connection=connection)
    assert second.return_value()["continued_by"] == third.id
    assert second.meta["backfill"] == {"counts": _counts(checked=4, copied=3, missing=1), "last_id": ids[3]}
    assert third.return_value() == {**_counts(checked=5, copied=3, missing=2), "done": True}
    assert third.meta["backfill"]["last_id"] == ids[4]
    for document_id, data in legacy.items():
        assert _served(app, tenant_id, document_id) == data


def test_another_provinces_documents_are_never_touched(app, documents_queue):
    ours, _ = new_tenant(app)
    theirs, _ = new_tenant(app)
    our_producer, _ = producer_with_product(app, ours)
    their_producer, _ = producer_with_product(app, theirs)
    our_id, our_data = _legacy_accepted(app, ours, our_producer, pdf_bytes())
    their_id, their_data = _legacy_accepted(app, theirs, their_producer, pdf_bytes(padding=10))
    their_swapped_id, _ = _legacy_accepted(app, theirs, their_producer, pdf_bytes(padding=20))
    swapped = load(app, theirs, their_swapped_id)
    _s3_put(app, swapped.storage_key, b"%PDF-1.4 other bytes", ContentType=PDF)
    theirs_before = _rows(app, theirs)

    assert _run(app, ours) == _counts(checked=1, copied=1)

    assert _served(app, ours, our_id) == our_data
    assert _rows(app, theirs) == theirs_before
    their = load(app, theirs, their_id)
    assert stored_bytes(app, their.verified_key) is None and stored_bytes(app, their.storage_key) == their_data
    assert stored_bytes(app, swapped.storage_key) == b"%PDF-1.4 other bytes"
    # Under our province, theirs do not exist at all (ORM scope and RLS).
    with app.app_context(), tenant_scope(ours):
        assert db.session.scalars(select(Document.id)).all() == [our_id]
        db.session.commit()


def test_the_fan_out_queues_one_job_per_active_province_once_per_hour(app, fresh_tenant, documents_queue):
    tenant_id, _slug = fresh_tenant
    producer_id, _product_id = producer_with_product(app, tenant_id)
    document_id, data = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes())
    documents_queue.empty()
    slot = _slot(app)
    with app.app_context():
        active = db.session.scalars(select(Tenant.id).where(Tenant.is_active.is_(True))).all()
        db.session.commit()
        # A province whose job of this hour is already known (queued by another test) is not queued again.
        known = {t for t in active if Job.exists(backfill_job_id(t, 0, slot), connection=redis_connection())}
        assert tenant_id in active and tenant_id not in known
        assert backfill_verified_everywhere() == len(active)
        assert backfill_verified_everywhere() == len(active)  # the same hour: nothing more queued
    assert sorted(documents_queue.job_ids) == sorted(backfill_job_id(t, 0, slot) for t in active if t not in known)
    work_documents_queue(app)
    with app.app_context():
        job = Job.fetch(backfill_job_id(tenant_id, 0, slot), connection=redis_connection())
    assert job.return_value() == {**_counts(checked=1, copied=1), "done": True}
    assert _served(app, tenant_id, document_id) == data


# --------------------------------------------------------------------------- the command


def test_the_command_runs_one_province_and_reports_counts(app, fresh_tenant, documents_queue):
    tenant_id, slug = fresh_tenant
    producer_id, product_id = producer_with_product(app, tenant_id)
    document_id, data = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes())
    document_accepted(app, tenant_id, producer_id, product_id)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["documents", "backfill-verified", "--province", slug])
    assert result.exit_code == 0, result.output
    done = f"{slug}: done: checked 2, present 0, copied 1, mismatched 0, missing 1, changed 0, skipped 0"
    assert result.output.splitlines()[-1] == done
    assert _served(app, tenant_id, document_id) == data

    again = runner.invoke(args=["documents", "backfill-verified", "--province", slug])
    assert again.output.splitlines()[-1] == done.replace("present 0, copied 1", "present 1, copied 0")

    unknown = runner.invoke(args=["documents", "backfill-verified", "--province", "khong-co-tinh-nay"])
    assert unknown.exit_code != 0 and "no province 'khong-co-tinh-nay'" in unknown.output

    documents_queue.empty()
    queued = runner.invoke(args=["documents", "backfill-verified", "--province", slug, "--queue"])
    slot = _slot(app)
    assert queued.output.strip() == f"{slug}: queued backfill-verified-{tenant_id}-{slot}"
    twice = runner.invoke(args=["documents", "backfill-verified", "--province", slug, "--queue"])
    assert twice.output.strip() == f"{slug}: already queued within this hour"
    assert documents_queue.count == 1


def test_a_file_replaced_while_it_is_read_is_not_copied(app, fresh_tenant, documents_queue, monkeypatch):
    """The copy names the ETag of the bytes that were hashed: storage refuses it when the object changed
    in between, and the next run reads the new bytes (and refuses them)."""
    tenant_id, _slug = fresh_tenant
    producer_id, _product_id = producer_with_product(app, tenant_id)
    document_id, data = _legacy_accepted(app, tenant_id, producer_id, pdf_bytes())
    document = load(app, tenant_id, document_id)
    swapped = b"%PDF-1.4\n" + HTML.ljust(len(data) - 9, b" ")
    real_digest = document_jobs._stored_digest

    def digest_then_swap(s3, bucket, key, expected_size):
        found = real_digest(s3, bucket, key, expected_size)
        s3.put_object(Bucket=bucket, Key=key, Body=swapped, ContentType=PDF)
        return found

    monkeypatch.setattr(document_jobs, "_stored_digest", digest_then_swap)
    assert _run(app, tenant_id) == _counts(checked=1, changed=1)
    assert stored_bytes(app, document.verified_key) is None
    assert _rows(app, tenant_id)[document_id][0] == "accepted"
    monkeypatch.undo()

    assert _run(app, tenant_id) == _counts(checked=1, mismatched=1)
    assert _rows(app, tenant_id)[document_id][0] == "rejected"
    assert stored_bytes(app, document.verified_key) is None and stored_bytes(app, document.storage_key) == swapped


def test_a_retried_job_goes_on_from_the_last_page_its_meta_recorded(app, fresh_tenant, documents_queue):
    tenant_id, _slug = fresh_tenant
    producer_id, _product_id = producer_with_product(app, tenant_id)
    legacy = dict(_legacy_accepted(app, tenant_id, producer_id, pdf_bytes(padding=n)) for n in range(3))
    first, *rest = sorted(legacy)
    documents_queue.empty()
    slot = _slot(app)
    with app.app_context():
        job = documents_queue.enqueue(
            backfill_verified_documents, tenant_id, 1, 0, None, slot, job_id=backfill_job_id(tenant_id, 0, slot)
        )
        # What an earlier attempt (killed after its first page) left in the job's meta.
        job.meta["backfill"] = {"counts": _counts(checked=1, copied=1), "last_id": first}
        job.save_meta()
    work_documents_queue(app)
    with app.app_context():
        job.refresh()
    assert job.return_value() == {**_counts(checked=3, copied=3), "done": True}
    assert job.meta["backfill"]["last_id"] == rest[-1]
    # It did not go back over the first page (here nothing was really done there, to show it).
    assert stored_bytes(app, load(app, tenant_id, first).verified_key) is None
    for document_id in rest:
        assert _served(app, tenant_id, document_id) == legacy[document_id]
