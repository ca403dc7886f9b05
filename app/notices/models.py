"""A notice is one thing to tell someone on one occasion; its key (kind, subject_key, occasion) is unique per
province, so asking for the same notice twice (a job run twice, a sweep re-run) makes one row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk

NOTICE_STATUSES = ("pending", "sent", "failed")


class Notice(TenantScoped, db.Model):
    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "subject_key", "occasion"),
        CheckConstraint(f"status IN {NOTICE_STATUSES}", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_notices_status", "tenant_id", "status", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(48))  # e.g. certificate_expiry, inspection_overdue
    subject_key: Mapped[str] = mapped_column(String(200))  # what it is about, e.g. certificate:42
    occasion: Mapped[str] = mapped_column(String(64))  # why now, e.g. 90d, 2026-03-01
    template: Mapped[str] = mapped_column(String(48))  # app/notices/messages.py
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    transport: Mapped[str | None] = mapped_column(String(16))  # smtp | outbox, once sent
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NoticeRecipient(TenantScoped, db.Model):
    """A user of the province (in-app list and their e-mail) or a bare address (a producer's contact)."""

    __tablename__ = "notice_recipients"
    __table_args__ = (
        tenant_fk("notice_id", "notices", ondelete="CASCADE"),
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        CheckConstraint("user_id IS NOT NULL OR email IS NOT NULL", name="someone"),
        Index("ix_notice_recipients_notice", "tenant_id", "notice_id"),
        Index("ix_notice_recipients_user", "tenant_id", "user_id", "read_at"),
    )

    notice_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(254))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NoticeSettings(TenantScoped, db.Model):
    """The province's choices (`[notices]` of the province file); none means the defaults."""

    __tablename__ = "notice_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint(
            "30 <= ALL(expiry_reminder_days) AND cardinality(expiry_reminder_days) BETWEEN 1 AND 12",
            name="expiry_reminder_days",
        ),
    )

    expiry_reminder_days: Mapped[list[int]] = mapped_column(ARRAY(Integer))
