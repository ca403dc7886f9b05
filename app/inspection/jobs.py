"""Inspection jobs: the per-tenant scheduling job (queued after a certificate or the policy changes) and
the reconciler sweep (cron) that runs it for every tenant, so a lost job, a dead worker or a flushed
Redis leaves nothing unplanned. Both are idempotent: the partial unique index makes a repeat a no-op."""

from __future__ import annotations

from datetime import timedelta

from app.inspection.scheduling import inspection_schedule
from app.inspection.services import schedule_retry
from jobs.fanout import fan_out
from jobs.wrapper import system_job, tenant_job

SWEEP_EVERY = timedelta(minutes=30)  # the cron schedule in jobs/cron_config.py


@tenant_job
def schedule_inspections() -> dict:
    """Plan, move and cancel the tenant's inspections (one statement); returns the counts."""
    report = inspection_schedule()
    return {"created": report.created, "moved": report.moved, "cancelled": report.cancelled}


@system_job
def schedule_inspections_everywhere() -> int:
    """The reconciler: one scheduling job per active tenant (cron, every 30 minutes; idempotent per slot).
    Also what moves certificates that expired overnight out of the plan (there is no event for expiry)."""
    return fan_out(
        "scheduling", schedule_inspections, name="inspections-sweep", every=SWEEP_EVERY, retry=schedule_retry()
    )
