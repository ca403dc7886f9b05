"""The national roll-up refresh (cron every minute, jobs/cron_config.py): one call for every province."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from jobs.wrapper import system_job


def rollups_refresh() -> None:
    """REFRESH MATERIALIZED VIEW CONCURRENTLY through the roll-up role's function (readers never wait)."""
    db.session.execute(text("SELECT national.refresh_rollups()"))
    db.session.commit()


@system_job
def refresh_rollups() -> None:
    rollups_refresh()
