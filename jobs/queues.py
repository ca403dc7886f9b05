"""Queues per concern, prefixed by environment so that dev, test and prod never share one."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event

from app.extensions import db

QUEUE_NAMES = ("default", "documents", "scheduling", "notifications", "reports")

# Every job retries with backoff unless its caller says otherwise (retry=None): a failure that outlives
# the retries lands in the failed list with its error (the province's jobs page shows it, with a retry).
DEFAULT_RETRY_INTERVALS = (30, 120, 600)
# Finished jobs stay visible a day and failed ones a week on the jobs page (RQ's defaults are minutes).
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600


def default_retry() -> Retry:
    return Retry(max=len(DEFAULT_RETRY_INTERVALS), interval=list(DEFAULT_RETRY_INTERVALS))


def redis_connection() -> Redis:
    conn = current_app.extensions.get("rq_redis")
    if conn is None:
        conn = Redis.from_url(current_app.config["REDIS_URL"])
        current_app.extensions["rq_redis"] = conn
    return conn


def queue_name(name: str, prefix: str | None = None) -> str:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return f"{prefix or current_app.config['RQ_QUEUE_PREFIX']}:{name}"


def get_queue(name: str) -> Queue:
    return Queue(queue_name(name), connection=redis_connection())


def enqueue_now(queue: str, func, *args, job_id: str | None = None, **kwargs):
    """Enqueue immediately (for code that is not inside a database transaction, e.g. cron fan-out).

    Retries with backoff by default (`retry=None` to opt out); results and failures are kept long enough
    to be seen on the jobs page.
    """
    kwargs.setdefault("retry", default_retry())
    kwargs.setdefault("result_ttl", RESULT_TTL)
    kwargs.setdefault("failure_ttl", FAILURE_TTL)
    return get_queue(queue).enqueue(func, *args, job_id=job_id, **kwargs)


def enqueue_after_commit(queue: str, func, *args, job_id: str | None = None, **kwargs) -> None:
    """Enqueue once the current transaction commits; nothing is sent if it rolls back.

    PostgreSQL is the source of truth: a job never runs against rows that were not committed.
    """
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even of an empty transaction, drops the job
    pending = session.info.setdefault("jobs_after_commit", [])
    pending.append((queue, func, args, job_id, kwargs))
    if not event.contains(session, "after_commit", _flush_pending):
        event.listen(session, "after_commit", _flush_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)


def _flush_pending(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (begin_nested): the real commit is still to come
    for queue, func, args, job_id, kwargs in session.info.pop("jobs_after_commit", []):
        enqueue_now(queue, func, *args, job_id=job_id, **kwargs)


def _drop_pending(session, previous_transaction=None) -> None:
    session.info.pop("jobs_after_commit", None)
