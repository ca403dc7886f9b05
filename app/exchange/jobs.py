"""Registry jobs: Excel imports, and the reconciler for imports a lost job left queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from app.exchange.services import import_job_id, import_run
from app.extensions import db
from app.registry.models import RegistryImport
from jobs.fanout import fan_out
from jobs.metrics import count_repairs
from jobs.queues import enqueue_now, redis_connection
from jobs.wrapper import system_job, tenant_job
from tenants.context import current_tenant_id

STALLED_AFTER = timedelta(minutes=10)
RECONCILE_EVERY = timedelta(minutes=10)  # the cron schedule in jobs/cron_config.py


@tenant_job
def run_import(import_id: int) -> None:
    import_run(import_id)


def _job_alive(job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=redis_connection()).get_status() in (
            "queued",
            "started",
            "deferred",
            "scheduled",
        )
    except NoSuchJobError:
        return False


@tenant_job
def requeue_stalled_imports() -> int:
    """Imports still queued long after upload whose job is gone (a dead worker, a lost Redis) run again.

    Safe: an import commits its rows and its report together, and importing the same file twice
    changes nothing.
    """
    cutoff = datetime.now(UTC) - STALLED_AFTER
    stalled = db.session.scalars(
        select(RegistryImport).where(RegistryImport.status == "queued", RegistryImport.created_at < cutoff)
    ).all()
    tenant_id = current_tenant_id()
    requeued = 0
    for record in stalled:
        job_id = import_job_id(tenant_id, record.id)
        if not _job_alive(job_id):
            enqueue_now("reports", run_import, tenant_id, record.id, job_id=job_id)
            requeued += 1
    count_repairs("imports", requeued)
    return requeued


@system_job
def requeue_stalled_imports_everywhere() -> int:
    """Fan out one reconciler pass per active tenant (cron, every 10 minutes); idempotent per slot."""
    return fan_out("reports", requeue_stalled_imports, name="requeue-imports", every=RECONCILE_EVERY)
