"""Uploads never pass through the app, and verification streams with bounded memory (`make bench`).

Figures to watch (printed, and kept in the benchmark's extra_info):
- bytes the Flask app received and sent during presign → direct POST to storage → confirm →
  verify → download link, for a 20 MB file: a few KB of JSON, never the file;
- verification of a 200 MB object: MB/s, peak RSS growth of the process while it runs (sampled),
  and the tracemalloc peak of Python allocations.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import psutil
import pytest
from boto3.s3.transfer import TransferConfig
from sqlalchemy import update

from app.core.storage import s3_client
from app.documents import services
from app.documents.jobs import verify_document
from app.documents.models import Document
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import csrf_token
from tests.documents.conftest import PDF, post_to_storage, work_documents_queue
from tests.factories import producer_with_product

MB = 1024 * 1024


class ByteCounter:
    """WSGI middleware: every byte of request body the app reads, and every byte it answers."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.requests = self.declared = self.received = self.sent = 0

    def __call__(self, environ, start_response):
        self.requests += 1
        self.declared += int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = _CountingInput(environ["wsgi.input"], self)
        iterable = self.wsgi_app(environ, start_response)
        try:
            body = list(iterable)
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        self.sent += sum(len(chunk) for chunk in body)
        return body


class _CountingInput:
    def __init__(self, stream, counter: ByteCounter):
        self._stream, self._counter = stream, counter

    def _count(self, data):
        self._counter.received += len(data)
        return data

    def read(self, *args):
        return self._count(self._stream.read(*args))

    def readline(self, *args):
        return self._count(self._stream.readline(*args))

    def readlines(self, *args):
        lines = self._stream.readlines(*args)
        self._counter.received += sum(len(line) for line in lines)
        return lines

    def __iter__(self):
        for line in self._stream:
            yield self._count(line)


@pytest.fixture()
def counted_app(app):
    counter = ByteCounter(app.wsgi_app)
    app.wsgi_app = counter
    try:
        yield app, counter
    finally:
        app.wsgi_app = counter.wsgi_app


def test_the_app_never_carries_the_file(benchmark, counted_app, tenants, documents_queue_empty, capsys):
    app, counter = counted_app
    slug = "bac-giang"
    producer_id, product_id = producer_with_product(app, tenants[slug])
    from tests.conftest import create_user, login

    _uid, email = create_user(app, tenants[slug], roles=("producer",), producer_id=producer_id)
    client = app.test_client()
    assert login(client, f"/{slug}/login", email).status_code == 302
    token = csrf_token(client, f"/{slug}/account")
    with tempfile.TemporaryDirectory() as workdir:  # a real PDF with 20 MB of random bytes in a stream
        sample = Path(workdir) / "sample.pdf"
        _write_pdf_like(sample, 20)
        data = sample.read_bytes()
    headers = {"X-CSRFToken": token, "Accept": "application/json"}

    def cycle():
        issued = client.post(
            f"/{slug}/documents/presign",
            headers=headers,
            json={
                "product_id": product_id,
                "requirement": "test_report",
                "filename": "bao-cao-20mb.pdf",
                "content_type": PDF,
                "size": len(data),
            },
        ).get_json()
        assert post_to_storage(issued["upload"], data).status_code == 204  # browser → storage
        assert client.post(issued["confirm_url"], headers=headers, json={}).status_code == 202
        work_documents_queue(app)
        assert client.get(issued["status_url"]).get_json()["status"] == "accepted"
        download = client.get(issued["download_url"])
        assert download.status_code == 302
        return issued

    counter.requests = counter.declared = counter.received = counter.sent = 0
    rounds = 3
    benchmark.pedantic(cycle, rounds=rounds, iterations=1)
    per_cycle = {name: getattr(counter, name) // rounds for name in ("requests", "declared", "received", "sent")}
    benchmark.extra_info.update(file_bytes=len(data), **{f"app_{k}_per_cycle": v for k, v in per_cycle.items()})
    with capsys.disabled():
        print(
            f"\n20 MB upload cycle (presign, direct POST, confirm, verify, status, download link): the app handled "
            f"{per_cycle['requests']} requests, received {per_cycle['received']} body bytes "
            f"(declared {per_cycle['declared']}), sent {per_cycle['sent']} bytes; file {len(data)} bytes"
        )
    assert per_cycle["received"] < 4096 and per_cycle["declared"] < 4096
    assert per_cycle["sent"] < 4096


@pytest.fixture()
def documents_queue_empty(app):
    from jobs.queues import get_queue

    with app.app_context():
        get_queue("documents").empty()
    yield
    with app.app_context():
        get_queue("documents").empty()


class _PeakRss:
    """Samples this process's RSS every few milliseconds while a block runs."""

    def __init__(self, interval=0.002):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._process = psutil.Process()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self):
        self.before = self._process.memory_info().rss
        self.peak = self.before
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.before


def _write_pdf_like(path: Path, megabytes: int) -> int:
    """A real PDF (verification parses it) carrying `megabytes` of random bytes in one stream, written
    1 MB at a time (the benchmark itself stays small)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
        offsets.append(out.tell())
        out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % (megabytes * MB))
        for _ in range(megabytes):
            out.write(os.urandom(MB))
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets))
        out.write(b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return path.stat().st_size


def test_verification_streams_a_200_mb_file_with_bounded_memory(benchmark, app, app_env, tenants, monkeypatch, capsys):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 256 * MB)
    tenant_id = tenants["ha-tinh"]
    producer_id, _product = producer_with_product(app, tenant_id)
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "big.pdf"
        size = _write_pdf_like(path, 200)
        with app.app_context(), tenant_scope(tenant_id):
            document, _upload = services.document_presign(
                producer_id=producer_id,
                product_id=None,
                requirement="test_report",
                filename="lon.pdf",
                content_type=PDF,
                size=size,
                uploaded_by=None,
            )
            document_id, key = document.id, document.storage_key
            db.session.commit()
            # Storage gets the bytes straight from disk, 8 MB parts, one at a time.
            s3_client().upload_file(
                str(path),
                app.config["S3_BUCKET"],
                key,
                ExtraArgs={"ContentType": PDF},
                Config=TransferConfig(use_threads=False),
            )
            db.session.execute(update(Document).where(Document.id == document_id).values(status="pending", size=size))
            db.session.commit()

    def reset():
        with app.app_context(), tenant_scope(tenant_id):
            db.session.execute(
                update(Document)
                .where(Document.id == document_id)
                .values(status="pending", sha256=None, verified_at=None)
            )
            db.session.commit()

    def verify():
        with app.app_context():
            assert verify_document(tenant_id, document_id) == "accepted"

    benchmark.pedantic(verify, setup=reset, rounds=3, iterations=1)
    best = benchmark.stats.stats.min
    mb_per_s = size / MB / best

    reset()
    tracemalloc.start()
    try:
        verify()
        _current, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # RSS in a fresh process: this one has memory left over from earlier work that a verification
    # could reuse without growing, which would flatter the figure.
    reset()
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        config = {key: app.config[key] for key in FRESH_PROCESS_CONFIG}
        child = pool.apply(_verify_in_fresh_process, (app_env, config, tenant_id, document_id))

    benchmark.extra_info.update(
        file_mb=round(size / MB, 1),
        mb_per_s=round(mb_per_s, 1),
        tracemalloc_peak_mb=round(python_peak / MB, 2),
        fresh_process_rss_before_mb=round(child["rss_before"] / MB, 1),
        fresh_process_peak_rss_growth_mb=round(child["rss_growth"] / MB, 1),
        fresh_process_maxrss_growth_mb=round(child["maxrss_growth"] / MB, 1),
        fresh_process_mb_per_s=round(size / MB / child["seconds"], 1),
    )
    with capsys.disabled():
        print(
            f"\nverification of {size / MB:.0f} MB (GET stream + sha256 + signature + stamp): {mb_per_s:.0f} "
            f"MB/s (best of 3, {best:.2f} s); tracemalloc peak {python_peak / MB:.2f} MB; in a fresh process: "
            f"RSS {child['rss_before'] / MB:.0f} MB before, peak growth {child['rss_growth'] / MB:.1f} MB "
            f"(sampled every 2 ms), ru_maxrss growth {child['maxrss_growth'] / MB:.1f} MB, "
            f"{size / MB / child['seconds']:.0f} MB/s"
        )
    assert child["status"] == "accepted"
    assert child["rss_growth"] < 64 * MB and child["maxrss_growth"] < 64 * MB
    assert python_peak < 16 * MB


FRESH_PROCESS_CONFIG = (
    "SQLALCHEMY_DATABASE_URI",
    "NATIONAL_DATABASE_URL",
    "REDIS_URL",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_REGION",
    "S3_BUCKET",
    "UPLOAD_MAX_BYTES",
    "RQ_QUEUE_PREFIX",
    "SECRET_KEY",
)


def _verify_in_fresh_process(app_env: dict, config: dict, tenant_id: int, document_id: int) -> dict:
    """Runs in a spawned interpreter: the app, warmed up, then one verification under an RSS sampler."""
    os.environ.update({k: v for k, v in app_env.items() if isinstance(v, str)})
    from app.factory import create_app

    fresh = create_app(config)
    with fresh.app_context():  # warm up what any job has: a database connection, an S3 client
        s3_client().head_bucket(Bucket=fresh.config["S3_BUCKET"])
        with tenant_scope(tenant_id):
            db.session.get(Document, (tenant_id, document_id))
            db.session.rollback()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    with _PeakRss() as rss, fresh.app_context():
        status = verify_document(tenant_id, document_id)
    seconds = time.perf_counter() - started
    return {
        "status": status,
        "seconds": seconds,
        "rss_before": rss.before,
        "rss_growth": rss.growth,
        "maxrss_growth": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - maxrss_before,
    }
