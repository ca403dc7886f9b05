"""Faults, with real processes: a real RQ worker (`python -m jobs.worker`, forking a work-horse per job)
against the real PostgreSQL and Redis.

- SIGKILL of the worker and its work-horse in the middle of the scheduling statement: nothing was
  committed; RQ's abandoned-job handling (StartedJobRegistry.cleanup, which a live worker runs during its
  maintenance once the dead one's heartbeat expires — called here with a later timestamp instead of
  waiting for it) retries the job, and its rows exist exactly once.
- Redis restarted AND flushed with scheduling jobs queued (a redis-server of this test's own, on a free
  port with a temp dir — the shared one on 6379 is left alone): the jobs are gone; the reconciler sweep
  restores every missing inspection.
- The database drops the job's connection mid-statement (pg_terminate_backend on that one backend, the
  part of a PostgreSQL restart a worker sees; restarting the shared cluster would break the other
  checkouts' tests): the job fails, RQ retries it after its backoff, and it writes each row once.

"Mid-job" is made deterministic by holding a lock on the inspections table from the test's own owner
connection: the job's statement waits on it, so it is provably running when the fault strikes.
Timeouts below only bound the waits (a hung test fails); nothing here measures speed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
import redis as redis_lib
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.scheduler import SCHEDULER_LOCKING_KEY_TEMPLATE
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.inspection.models import Inspection
from app.inspection.scheduling import inspection_schedule
from app.inspection.services import inspection_schedule_enqueue, schedule_job_id
from jobs.queues import QUEUE_NAMES, get_queue, redis_connection
from tenants.context import tenant_scope
from tests.conftest import ROOT
from tests.factories import certificate_recorded, producer_with_product

CERTIFICATES = 5
PER_CERTIFICATE = 2  # a routine inspection and an expiry review (handicraft: no sampling)
WAIT = 90  # seconds: the longest any wait may take before the test fails


def _until(condition, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _certified_tenant(app):
    from tests.factories import new_tenant

    tenant_id, _slug = new_tenant(app)
    for _ in range(CERTIFICATES):
        _producer, product_id = producer_with_product(app, tenant_id, set_code="IV.1.1")
        certificate_recorded(app, tenant_id, product_id, stars=4, decision_date=clock.today() - timedelta(days=40))
    return tenant_id


def _rows(app, tenant_id) -> list[tuple]:
    with app.app_context(), tenant_scope(tenant_id):
        return [
            tuple(r)
            for r in db.session.execute(
                select(Inspection.certificate_id, Inspection.kind, Inspection.period_key, Inspection.status).order_by(
                    Inspection.certificate_id, Inspection.kind
                )
            )
        ]


def _clean_queue(app):
    """Empty every queue of this environment (the worker listens on all of them) and the scheduling registries."""
    with app.app_context():
        for name in QUEUE_NAMES:
            get_queue(name).empty()
        queue = get_queue("scheduling")
        for registry in (
            queue.started_job_registry,
            queue.failed_job_registry,
            queue.finished_job_registry,
            queue.scheduled_job_registry,
        ):
            for job_id in registry.get_job_ids():
                try:
                    registry.remove(job_id, delete_job=True)
                except (NoSuchJobError, ValueError):  # its data (or an execution's) expired first: the entry goes alone
                    registry.remove(job_id)
        return queue


@contextmanager
def _worker(env_overrides: dict | None = None):
    """A real worker process (its own session, so the worker and its work-horse die together)."""
    env = {**os.environ, "OCOP_ENV": "test", **(env_overrides or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def _inspections_locked(database_urls):
    """Hold a lock that makes any write to inspections wait (from the owner's connection)."""
    with psycopg.connect(database_urls["MIGRATION_DATABASE_URL"]) as conn:
        conn.execute("LOCK TABLE inspections IN SHARE ROW EXCLUSIVE MODE")
        yield conn
        conn.rollback()


def _waiting_backend(services, database_urls) -> int | None:
    """The pid of the job's backend waiting on our lock with the scheduling statement."""
    dbname = database_urls["DATABASE_URL"].rsplit("/", 1)[-1]
    with psycopg.connect(services["ADMIN_DATABASE_URL"], autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' AND query LIKE %s",
            [dbname, "%WITH valid AS%"],
        ).fetchone()
        return row[0] if row else None


def _backend_gone(services, pid: int) -> bool:
    with psycopg.connect(services["ADMIN_DATABASE_URL"], autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0] == 0


@contextmanager
def _retry_intervals(app, intervals):
    """Retries after these intervals instead of the production backoff (the intervals ride on the job)."""
    previous = app.config.get("INSPECTION_RETRY_INTERVALS")
    app.config["INSPECTION_RETRY_INTERVALS"] = intervals
    yield
    if previous is None:
        app.config.pop("INSPECTION_RETRY_INTERVALS", None)
    else:
        app.config["INSPECTION_RETRY_INTERVALS"] = previous


@pytest.fixture()
def fast_retries(app):
    """A retry 1 second after a failure (run by the worker's scheduler)."""
    with _retry_intervals(app, (1, 1, 1, 1, 1)):
        yield


@pytest.fixture()
def immediate_retries(app):
    """An abandoned job is queued again at once: the killed worker's scheduler lock would otherwise
    hold scheduled retries back until it expires (a minute or more), which is fine in production."""
    with _retry_intervals(app, (0, 0, 0, 0, 0)):
        yield


def _scheduler_locks(app) -> list[str]:
    with app.app_context():
        keys = [SCHEDULER_LOCKING_KEY_TEMPLATE % get_queue(name).name for name in QUEUE_NAMES]
        return [key for key in keys if redis_connection().exists(key)]


def _drop_dead_scheduler_locks(app) -> None:
    """The killed worker's scheduler held its locks; they would expire 61 s later (and a new worker only
    tries to take them again every 10 minutes): dropped here instead of waiting."""
    with app.app_context():
        for key in _scheduler_locks(app):
            redis_connection().delete(key)


def _expected(rows) -> None:
    assert len(rows) == CERTIFICATES * PER_CERTIFICATE
    assert len({r[:3] for r in rows}) == len(rows)  # no period twice
    assert {r[3] for r in rows} == {"planned"}


def _kill_worker_mid_job(app, services, database_urls):
    """A scheduling job held mid-statement; its worker and work-horse killed with SIGKILL. Returns the job
    (abandoned: "started" in Redis, nothing committed) and the tenant."""
    tenant_id = _certified_tenant(app)
    _clean_queue(app)
    with _inspections_locked(database_urls):
        with app.app_context():
            job = inspection_schedule_enqueue(tenant_id)
        with _worker() as worker:
            backend = _until(lambda: _waiting_backend(services, database_urls), "the job's statement")
            horses = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
            assert horses, "the worker forked no work-horse"
            # The work-horse runs in a session of its own (RQ calls setsid): each is killed by its pid, at once.
            for pid in (worker.pid, *map(int, horses)):
                os.kill(pid, signal.SIGKILL)
            worker.wait(timeout=WAIT)
    _drop_dead_scheduler_locks(app)
    # The lock is released: the orphaned statement may finish, but its transaction never commits.
    _until(lambda: _backend_gone(services, backend), "the dead job's backend to end")
    assert _rows(app, tenant_id) == []
    with app.app_context():
        assert Job.fetch(job.id, connection=redis_connection()).get_status() == "started"  # abandoned
    return job, tenant_id


def _rerun_once(app, job, tenant_id, timeout=WAIT):
    with _worker():
        _until(
            lambda: Job.fetch(job.id, connection=app_redis(app)).get_status() == "finished",
            "the re-run",
            timeout=timeout,
        )
    rows = _rows(app, tenant_id)
    _expected(rows)
    with app.app_context(), tenant_scope(tenant_id):
        assert inspection_schedule().created == 0  # the reconciler finds nothing missing
        db.session.rollback()


def test_worker_and_work_horse_killed_mid_job_the_job_reruns_and_its_rows_exist_once(
    app, services, database_urls, immediate_retries
):
    job, tenant_id = _kill_worker_mid_job(app, services, database_urls)
    with app.app_context():
        # RQ's abandoned-job handling (what a live worker's maintenance does once the heartbeat expired).
        StartedJobRegistry(queue=get_queue("scheduling")).cleanup(timestamp=time.time() + 3600)
        assert Job.fetch(job.id, connection=redis_connection()).retries_left == 4
    _rerun_once(app, job, tenant_id)


def test_a_new_worker_finds_the_abandoned_job_and_reruns_it_within_two_minutes(
    app, services, database_urls, immediate_retries
):
    """The same kill, then nothing but a new worker (as the launcher or the process manager starts one):
    its own maintenance finds the job once the dead one's heartbeat expired (jobs/worker.py: 10 s
    heartbeats, maintenance every 30 s) and the retry runs it, all within two minutes of the kill."""
    job, tenant_id = _kill_worker_mid_job(app, services, database_urls)
    _rerun_once(app, job, tenant_id, timeout=120)


def app_redis(app):
    with app.app_context():
        return redis_connection()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A redis-server of this test alone (temp dir, free port), restartable."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="insp-redis-")
        self.port = _free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--dir",
                self.dir,
                "--save",
                "",
                "--appendonly",
                "yes",
                "--bind",
                "127.0.0.1",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis_lib.Redis.from_url(self.url)
        _until(lambda: self._ping(client), "redis to start", timeout=30)

    @staticmethod
    def _ping(client) -> bool:
        try:
            return client.ping()
        except redis_lib.ConnectionError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def _app_on_redis(app, url):
    """The test app's jobs go to another Redis (the worker reads REDIS_URL from its environment)."""
    previous = app.config["REDIS_URL"], app.extensions.pop("rq_redis", None)
    app.config["REDIS_URL"] = url
    try:
        yield
    finally:
        app.config["REDIS_URL"] = previous[0]
        app.extensions.pop("rq_redis", None)
        if previous[1] is not None:
            app.extensions["rq_redis"] = previous[1]


def test_redis_restarted_and_flushed_with_jobs_queued_the_reconciler_restores_every_inspection(app):
    from app.inspection.jobs import schedule_inspections_everywhere

    own = OwnRedis()
    own.start()
    try:
        with _app_on_redis(app, own.url):
            tenant_id = _certified_tenant(app)  # each certificate queued the tenant's scheduling job
            with app.app_context():
                assert schedule_job_id(tenant_id) in get_queue("scheduling").job_ids
            own.stop()  # Redis goes down with the job queued...
            own.start()
            redis_lib.Redis.from_url(own.url).flushall()  # ...and comes back empty
            app.extensions.pop("rq_redis", None)
            with app.app_context():
                assert get_queue("scheduling").count == 0
            assert _rows(app, tenant_id) == []
            with app.app_context():
                assert schedule_inspections_everywhere() >= 1  # the cron sweep: one job per active tenant
            with _worker({"REDIS_URL": own.url}):
                _until(lambda: len(_rows(app, tenant_id)) == CERTIFICATES * PER_CERTIFICATE, "the sweep")
                with app.app_context():
                    _until(lambda: get_queue("scheduling").count == 0, "the sweep to finish")
            _expected(_rows(app, tenant_id))
    finally:
        own.close()


def test_the_database_drops_the_jobs_connection_the_job_retries_and_writes_each_row_once(
    app, services, database_urls, fast_retries
):
    tenant_id = _certified_tenant(app)
    _clean_queue(app)
    with app.app_context():
        job = inspection_schedule_enqueue(tenant_id)
    _until(lambda: not _scheduler_locks(app), "a previous worker's scheduler lock to expire")
    with _worker():
        with _inspections_locked(database_urls):
            backend = _until(lambda: _waiting_backend(services, database_urls), "the job's statement")
            with psycopg.connect(services["ADMIN_DATABASE_URL"], autocommit=True) as admin:
                assert admin.execute("SELECT pg_terminate_backend(%s)", [backend]).fetchone()[0] is True
        _until(lambda: Job.fetch(job.id, connection=app_redis(app)).get_status() == "finished", "the retried job")
        retried = Job.fetch(job.id, connection=app_redis(app))
        assert retried.retries_left == 4  # it failed once, then the retry wrote the rows
    _expected(_rows(app, tenant_id))
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Inspection)) == CERTIFICATES * PER_CERTIFICATE
