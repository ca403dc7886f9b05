"""Housekeeping of accounts: invitations that were never used expire."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from jobs.queues import enqueue_now
from jobs.wrapper import system_job, tenant_job
from tenants.models import Tenant


@tenant_job
def expire_invitations() -> int:
    """Invalidate this tenant's expired invitation links; returns how many were cleared."""
    now = datetime.now(UTC)
    users = db.session.scalars(select(User).where(User.invite_expires_at < now)).all()
    for user in users:
        user.invite_token_hash = None
        user.invite_expires_at = None
    return len(users)


@system_job
def expire_invitations_everywhere() -> int:
    """Fan out one job per active tenant; the deterministic job id makes a re-run a no-op per day."""
    tenant_ids = db.session.scalars(select(Tenant.id).where(Tenant.is_active.is_(True))).all()
    today = date.today().isoformat()
    for tenant_id in tenant_ids:
        enqueue_now("default", expire_invitations, tenant_id, job_id=f"expire-invitations-{tenant_id}-{today}")
    return len(tenant_ids)
