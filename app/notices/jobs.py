"""Notice jobs: deliver one notice, deliver what is pending in a province (the reconciler of lost jobs),
and the daily sweeps the features registered (app/notices/hooks.py), fanned out per province."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.extensions import db
from app.notices import hooks
from app.notices.services import notice_deliver, notices_due_ids
from jobs.fanout import fan_out
from jobs.wrapper import system_job, tenant_job

log = logging.getLogger(__name__)
DELIVER_EVERY = timedelta(minutes=5)  # the cron schedule in jobs/cron_config.py
SWEEP_EVERY = timedelta(days=1)


@tenant_job
def deliver_notice(notice_id: int) -> str:
    """Send one notice (exactly once: see notice_deliver); a failure raises, so rq retries with backoff."""
    return notice_deliver(notice_id)


@tenant_job
def deliver_pending_notices() -> dict:
    """Deliver every notice of the province still pending (its job lost with Redis, a worker killed) or
    failed and due again; one notice failing does not stop the others."""
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    for notice_id in notices_due_ids():
        try:
            counts[notice_deliver(notice_id)] += 1
            db.session.commit()
        except Exception:  # recorded on the notice by notice_deliver; the next pass tries again
            db.session.rollback()
            log.exception("notice %s failed", notice_id)
            counts["failed"] += 1
    if counts["failed"]:
        raise RuntimeError(f"{counts['failed']} notice(s) could not be sent: see the outbox")
    return counts


@tenant_job
def run_daily_sweeps() -> dict:
    """Each registered sweep (expiry reminders, overdue alerts) for this province, then delivery."""
    created = {}
    for name, sweep in hooks.daily_sweeps().items():
        created[name] = sweep()
        db.session.commit()
    return created


@system_job
def deliver_pending_notices_everywhere() -> int:
    # Every 5 minutes per province: its finished runs are kept 10 minutes, not a day, so that the jobs
    # page shows what matters.
    return fan_out(
        "notifications", deliver_pending_notices, name="deliver-notices", every=DELIVER_EVERY, result_ttl=600
    )


@system_job
def run_daily_sweeps_everywhere() -> int:
    """One sweep job per active province a day; the deterministic job id makes a re-run a no-op per day."""
    return fan_out("notifications", run_daily_sweeps, name="notice-sweeps", every=SWEEP_EVERY)
