"""One job per active tenant, with deterministic job ids so that a re-run in the same slot is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq.job import Job
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from jobs.queues import enqueue_now, redis_connection
from tenants.models import Tenant


def time_slot(every: timedelta, now: datetime | None = None) -> str:
    """The start of the slot `now` falls in, e.g. every=5 minutes → '20260301T1035'; daily → '2026-03-01'."""
    now = now or clock.now()
    seconds = int(every.total_seconds())
    if seconds <= 0:
        raise ValueError("a slot lasts a positive time")
    if seconds == 86400:
        return now.date().isoformat()
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)
    return start.strftime("%Y%m%dT%H%M")


def fan_out(queue: str, func, *args, name: str, every: timedelta, **kwargs) -> int:
    """Enqueue `func(tenant_id, *args, **kwargs)` once per active tenant; returns how many tenants.

    `func` is a tenant job or its dotted name ("app.documents.jobs.requeue_stalled_documents"). The
    job id is `<name>-<tenant id>-<slot>`: a cron tick delivered twice, or a manual run in the same
    slot, does not queue a second job for the same tenant.
    """
    slot = time_slot(every)
    tenant_ids = db.session.scalars(select(Tenant.id).where(Tenant.is_active.is_(True)).order_by(Tenant.id)).all()
    for tenant_id in tenant_ids:
        job_id = f"{name}-{tenant_id}-{slot}"
        # RQ enqueues an existing id again (and would run it twice): this slot's job exists, so skip.
        if Job.exists(job_id, connection=redis_connection()):
            continue
        enqueue_now(queue, func, tenant_id, *args, job_id=job_id, **kwargs)
    return len(tenant_ids)
