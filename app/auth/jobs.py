"""Housekeeping of accounts: invitations that were never used expire."""

from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import select

from app.auth.models import User
from app.core import clock
from app.extensions import db
from jobs.cli import jobs_cli
from jobs.fanout import fan_out
from jobs.wrapper import system_job, tenant_job


@tenant_job
def expire_invitations() -> int:
    """Invalidate this tenant's expired invitation links; returns how many were cleared."""
    now = clock.now()
    users = db.session.scalars(select(User).where(User.invite_expires_at < now)).all()
    for user in users:
        user.invite_token_hash = None
        user.invite_expires_at = None
    return len(users)


@system_job
def expire_invitations_everywhere() -> int:
    """Fan out one job per active tenant; the deterministic job id makes a re-run a no-op per day."""
    return fan_out("default", expire_invitations, name="expire-invitations", every=timedelta(days=1))


def register_jobs_cli(app) -> None:
    @jobs_cli(app).command("expire-invitations")
    def expire_invitations_command():
        """Fan out the invitation clean-up to every tenant's queue."""
        click.echo(f"enqueued for {expire_invitations_everywhere()} tenants")
