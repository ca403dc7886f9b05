"""Entitlements: what a support/reward policy grants for one certificate, and its approval and payment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk

ENTITLEMENT_STATUSES = ("computed", "approved", "paid", "rejected")


class Entitlement(TenantScoped, db.Model):
    """One policy's computed grant for one certificate; officers approve it, then record its payment."""

    __tablename__ = "entitlements"
    __table_args__ = (
        # A certificate earns a policy's reward once: the sync inserts with ON CONFLICT DO NOTHING.
        UniqueConstraint("tenant_id", "certificate_id", "policy_id"),
        tenant_fk("certificate_id", "certificates"),
        tenant_fk("product_id", "products"),
        tenant_fk("producer_id", "producers"),
        # A granted or paid reward outlives nothing: the policy cannot be deleted under it.
        tenant_fk("policy_id", "policies"),
        CheckConstraint(f"status IN {ENTITLEMENT_STATUSES}", name="status"),
        CheckConstraint("amount_vnd >= 0", name="amount"),
    )

    certificate_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    producer_id: Mapped[int] = mapped_column(BigInteger)
    policy_id: Mapped[int] = mapped_column(BigInteger)
    item_code: Mapped[str | None] = mapped_column(String(64))  # the policy line that priced it
    rule: Mapped[str] = mapped_column(String(32))  # first | further | any | upgrade
    stars: Mapped[int] = mapped_column(Integer)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    budget_year: Mapped[int] = mapped_column(Integer)
    budget_line: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="computed")
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approval_ref: Mapped[str | None] = mapped_column(String(64))
    paid_by: Mapped[int | None] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_ref: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
