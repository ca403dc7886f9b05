"""Rewards computed from new certificates: one sync per province every minute (jobs/cron_config.py)."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.progress.rewards import entitlements_sync
from jobs.fanout import fan_out
from jobs.wrapper import system_job, tenant_job


@tenant_job
def sync_entitlements() -> int:
    added = entitlements_sync()
    db.session.commit()
    return added


@system_job
def sync_entitlements_everywhere() -> int:
    return fan_out("reports", sync_entitlements, name="sync-entitlements", every=timedelta(minutes=1))
