"""Expiry reminders to the producer: at the province's days before expiry (default 90/60/30), never later
than 30 days before it. A daily sweep per province (registered with app/notices/hooks.py) computes them
set-wise: one query for the certificates in the window, one for their producers' users, one INSERT of
notices keyed (certificate, threshold, valid_to), so a re-run — the same day or later — adds nothing.

A certificate is reminded of the tightest threshold it has reached: recorded with 70 days left it gets
the 90-day reminder now (once), then the 60-day one; with 45 days left, the 60-day one only. Revoked or
superseded certificates (a newer one of the product exists) get none, nor does one not yet valid.
"""

from __future__ import annotations

from sqlalchemy import any_, literal, select

from app.auth.models import User
from app.auth.roles import PRODUCER
from app.certification.models import Certificate
from app.core import clock
from app.extensions import db
from app.notices.services import (
    LATEST_EXPIRY_REMINDER_DAYS,
    NoticeDraft,
    expiry_reminder_days,
    notices_create_many,
)
from app.registry.models import Producer, Product

KIND = "certificate_expiry"


def due_threshold(days_left: int, thresholds: tuple[int, ...]) -> int | None:
    """The reminder due with this many days left: the smallest threshold reached, none under 30 days."""
    if days_left < LATEST_EXPIRY_REMINDER_DAYS:
        return None
    reached = [d for d in thresholds if d >= days_left and d >= LATEST_EXPIRY_REMINDER_DAYS]
    return min(reached) if reached else None


def expiry_reminders_sweep() -> int:
    """Create today's due expiry reminders of the current province; returns how many are new."""
    today = clock.today()
    thresholds = expiry_reminder_days()
    days_left = Certificate.valid_to - today
    rows = db.session.execute(
        select(
            Certificate.id,
            Certificate.decision_number,
            Certificate.valid_to,
            days_left.label("days_left"),
            Product.name,
            Product.producer_id,
            Producer.name.label("producer_name"),
            Producer.email,
        )
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(
            Certificate.valid_from <= today,
            days_left.between(LATEST_EXPIRY_REMINDER_DAYS, max(thresholds)),
            Certificate.revoked_on.is_(None),
            Certificate.superseded_by_id.is_(None),
            Certificate.superseded_on.is_(None),
        )
    ).all()
    if not rows:
        return 0
    users: dict[int, list[int]] = {}
    for user_id, producer_id in db.session.execute(
        select(User.id, User.producer_id).where(
            User.producer_id.in_({row.producer_id for row in rows}),
            User.active.is_(True),
            literal(PRODUCER) == any_(User.roles),
        )
    ):
        users.setdefault(producer_id, []).append(user_id)
    drafts = []
    for row in rows:
        threshold = due_threshold(row.days_left, thresholds)
        if threshold is None:
            continue
        drafts.append(
            NoticeDraft(
                subject_key=f"certificate:{row.id}",
                occasion=f"{threshold}d-{row.valid_to.isoformat()}",
                params={
                    "product": row.name,
                    "producer": row.producer_name,
                    "decision_number": row.decision_number,
                    "valid_to": row.valid_to.isoformat(),
                    "days_left": row.days_left,
                },
                user_ids=users.get(row.producer_id, ()),
                emails=[row.email] if row.email else (),
            )
        )
    return notices_create_many(KIND, drafts)
