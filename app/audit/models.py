"""The audit log: append-only (the app role may only INSERT and SELECT it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped


class AuditEntry(TenantScoped, db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant_id", "at"),)

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete
    entity: Mapped[str] = mapped_column(String(64))  # table name
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    changes: Mapped[dict] = mapped_column(JSONB, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
