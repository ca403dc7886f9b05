"""A province's support policies, targets, reported figures and programme budgets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk, tenant_join


class Policy(TenantScoped, db.Model):
    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    act: Mapped[str | None] = mapped_column(String(200))
    issued_on: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    budget_vnd: Mapped[int | None] = mapped_column(BigInteger)

    items: Mapped[list[PolicyItem]] = relationship(
        primaryjoin=tenant_join(lambda: PolicyItem, "policy_id", lambda: Policy),
        order_by=lambda: PolicyItem.id,
        viewonly=True,
    )


class PolicyItem(TenantScoped, db.Model):
    """One concrete support line of a policy: a reward, a cost share, a planned quantity."""

    __tablename__ = "policy_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "policy_id", "code"),
        tenant_fk("policy_id", "policies", ondelete="CASCADE"),
    )

    policy_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    amount_vnd: Mapped[int | None] = mapped_column(BigInteger)
    share_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    quantity: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    unit: Mapped[str | None] = mapped_column(String(64))
    # Reward rules (kind "reward"): which certificates the line pays for and how much.
    stars: Mapped[int | None] = mapped_column(Integer)  # the star it rewards (NULL: any)
    product_group: Mapped[str | None] = mapped_column(String(32))  # QĐ 148 group code (I…VI), NULL: any
    producer_kinds: Mapped[str | None] = mapped_column(String(200))  # "htx,enterprise", NULL: any
    applies_to: Mapped[str | None] = mapped_column(String(16))  # first | further | any | upgrade
    cap_vnd: Mapped[int | None] = mapped_column(BigInteger)  # ceiling of a percentage-priced line
    budget_line: Mapped[str | None] = mapped_column(String(200))


class Target(TenantScoped, db.Model):
    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(String(64))
    comparator: Mapped[str] = mapped_column(String(2))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    unit: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    baseline_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    baseline_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(200))


class Figure(TenantScoped, db.Model):
    """A figure the province reported (e.g. 155 certified products at the end of 2021)."""

    __tablename__ = "figures"
    # Several "other" figures may share a date: the note tells them apart.
    __table_args__ = (UniqueConstraint("tenant_id", "on", "metric", "note", postgresql_nulls_not_distinct=True),)

    on: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))


class Budget(TenantScoped, db.Model):
    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("tenant_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
