"""What RQ knows of one tenant's jobs: queued, scheduled, deferred, running, finished and failed, read from
every queue's registries and filtered by the tenant id (a tenant job's first argument, jobs/wrapper.py).

Infrastructure only: the province's jobs page (app/notices) shows these, and retries a failed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rq.job import Job
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from jobs.queues import QUEUE_NAMES, get_queue, redis_connection

# state -> registry class (None: the queue itself)
STATES = {
    "queued": None,
    "scheduled": ScheduledJobRegistry,
    "deferred": DeferredJobRegistry,
    "started": StartedJobRegistry,
    "finished": FinishedJobRegistry,
    "failed": FailedJobRegistry,
}


@dataclass(frozen=True)
class JobView:
    id: str
    queue: str
    state: str
    func_name: str
    args: tuple
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None  # the last line of the traceback of a failed job
    retries_left: int | None

    @property
    def at(self) -> datetime:
        moments = [m for m in (self.ended_at, self.started_at, self.enqueued_at) if m is not None]
        return moments[0] if moments else datetime.min.replace(tzinfo=UTC)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _tenant_of(job: Job) -> int | None:
    try:
        first = job.args[0] if job.args else None
    except Exception:  # a job whose arguments cannot be read (a function gone since) belongs to nobody
        return None
    return first if isinstance(first, int) and not isinstance(first, bool) else None


def _error(job: Job) -> str | None:
    text = None
    try:
        result = job.latest_result()
        text = result.exc_string if result is not None else None
    except Exception:
        text = None
    text = text or getattr(job, "exc_info", None)
    if not text:
        return None
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def _view(job: Job, queue: str, state: str) -> JobView:
    return JobView(
        id=job.id,
        queue=queue,
        state=state,
        func_name=job.func_name or "",
        args=tuple(job.args or ()),
        enqueued_at=_aware(job.enqueued_at),
        started_at=_aware(job.started_at),
        ended_at=_aware(job.ended_at),
        error=_error(job) if state == "failed" else None,
        retries_left=job.retries_left,
    )


# The newest ids read per queue and state: a page about recent jobs, bounded however busy RQ is.
SCAN_LIMIT = 2000


def _ids(queue, state: str) -> list[str]:
    if STATES[state] is None:
        return queue.get_job_ids(0, SCAN_LIMIT)
    return STATES[state](queue=queue).get_job_ids(0, SCAN_LIMIT - 1, desc=True)


def tenant_jobs(tenant_id: int, states: tuple[str, ...] = tuple(STATES)) -> list[JobView]:
    """Every job of the tenant RQ still holds in the given states, newest first."""
    connection = redis_connection()
    views = []
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        for state in states:
            ids = _ids(queue, state)
            for job in Job.fetch_many(ids, connection=connection):
                if job is not None and _tenant_of(job) == tenant_id:
                    views.append(_view(job, name, state))
    views.sort(key=lambda v: v.at, reverse=True)
    return views


def find_tenant_job(tenant_id: int, job_id: str) -> JobView | None:
    """One job of the tenant, or None (missing, or another tenant's: the same answer)."""
    for view in tenant_jobs(tenant_id):
        if view.id == job_id:
            return view
    return None


def tenant_job_retry(tenant_id: int, job_id: str) -> bool:
    """Queue a failed job of the tenant again; False when there is no such failed job of this tenant."""
    view = find_tenant_job(tenant_id, job_id)
    if view is None or view.state != "failed":
        return False
    FailedJobRegistry(queue=get_queue(view.queue)).requeue(job_id)
    return True
