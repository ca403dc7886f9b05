"""Council members, rounds, the products of a round, conflicts, score sheets, review requests, criteria templates.

A round product's result (mean, parts, stars, outcome) is stored when the round closes, with the rule
version (act) of the round, so an old result keeps its version when the rules change.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk

MEMBER_ROLES = ("chair", "vice_chair", "member", "secretary")
SCORING_ROLES = ("chair", "vice_chair", "member")  # the secretary keeps the minutes and does not score
ROUND_STATUSES = ("open", "closed")
OUTCOMES = ("recognised", "not_recognised", "failed_mandatory", "proposed_ministry")
MINISTRY_OUTCOMES = ("recognised", "not_recognised")
REVIEW_OUTCOMES = ("rescore", "confirmed", "rescored")  # rescored: the re-score's result is recorded


class CouncilMember(TenantScoped, db.Model):
    __tablename__ = "council_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "council_id", "user_id"),
        tenant_fk("council_id", "councils", ondelete="CASCADE"),
        tenant_fk("user_id", "users"),
        CheckConstraint(f"role IN {MEMBER_ROLES}", name="role"),
        Index("ix_council_members_user", "tenant_id", "user_id"),
    )

    council_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(16))
    term_from: Mapped[date | None] = mapped_column(Date)
    term_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CouncilRound(TenantScoped, db.Model):
    """An evaluation round (đợt đánh giá) of one council on one meeting date."""

    __tablename__ = "council_rounds"
    __table_args__ = (
        tenant_fk("council_id", "councils"),
        tenant_fk("created_by", "users"),
        CheckConstraint(f"status IN {ROUND_STATUSES}", name="status"),
        Index("ix_council_rounds_council", "tenant_id", "council_id", "meeting_on"),
    )

    council_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    meeting_on: Mapped[date] = mapped_column(Date)
    act: Mapped[str] = mapped_column(String(32))  # the rule version in force on meeting_on, fixed at creation
    status: Mapped[str] = mapped_column(String(16), default="open")
    decision_number: Mapped[str | None] = mapped_column(String(64))
    decision_date: Mapped[date | None] = mapped_column(Date)
    decision_authority: Mapped[str | None] = mapped_column(String(200))  # the body that signs, as written
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RoundProduct(TenantScoped, db.Model):
    """One ready application assigned to a round, and its result once the round closes."""

    __tablename__ = "round_products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "round_id", "application_id"),
        tenant_fk("round_id", "council_rounds", ondelete="CASCADE"),
        tenant_fk("application_id", "applications"),
        tenant_fk("product_id", "products"),
        tenant_fk("certificate_id", "certificates"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {OUTCOMES}", name="outcome"),
        CheckConstraint(f"ministry_outcome IS NULL OR ministry_outcome IN {MINISTRY_OUTCOMES}", name="ministry"),
        CheckConstraint("stars IS NULL OR stars BETWEEN 3 AND 5", name="stars"),
        Index("ix_round_products_product", "tenant_id", "product_id"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger)
    application_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer, default=1)  # raised when the council re-scores
    mean_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    part_scores: Mapped[dict | None] = mapped_column(JSONB)
    criteria_means: Mapped[dict | None] = mapped_column(JSONB)
    stars: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(24))
    ministry_outcome: Mapped[str | None] = mapped_column(String(16))
    ministry_decision_number: Mapped[str | None] = mapped_column(String(64))
    ministry_decision_date: Mapped[date | None] = mapped_column(Date)
    certificate_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConflictDeclaration(TenantScoped, db.Model):
    __tablename__ = "conflict_declarations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "round_product_id", "member_id"),
        tenant_fk("round_product_id", "round_products", ondelete="CASCADE"),
        tenant_fk("member_id", "council_members", ondelete="CASCADE"),
    )

    round_product_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    conflicted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)  # the automatic flags at the time
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ScoreSheet(TenantScoped, db.Model):
    """One member's points for one product in one scoring attempt: {criterion code: points}."""

    __tablename__ = "score_sheets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "round_product_id", "member_id", "attempt"),
        tenant_fk("round_product_id", "round_products", ondelete="CASCADE"),
        tenant_fk("member_id", "council_members", ondelete="CASCADE"),
        CheckConstraint("total >= 0 AND total <= 100", name="total"),
    )

    round_product_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[dict] = mapped_column(JSONB, default=dict)
    total: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ReviewRequest(TenantScoped, db.Model):
    """A producer's request for review (phúc khảo) of a result, answered by the chair."""

    __tablename__ = "review_requests"
    __table_args__ = (
        tenant_fk("round_product_id", "round_products", ondelete="CASCADE"),
        tenant_fk("requested_by", "users"),
        tenant_fk("answered_by", "users"),
        CheckConstraint(f"outcome IS NULL OR outcome IN {REVIEW_OUTCOMES}", name="outcome"),
        Index("ix_review_requests_round_product", "tenant_id", "round_product_id"),
    )

    round_product_id: Mapped[int] = mapped_column(BigInteger)
    requested_by: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    outcome: Mapped[str | None] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(BigInteger)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CriteriaTemplate(TenantScoped, db.Model):
    """A province's imported criteria table for one rule version and product group (replaces the shipped one)."""

    __tablename__ = "criteria_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "act", "product_group"),
        tenant_fk("created_by", "users"),
    )

    act: Mapped[str] = mapped_column(String(32))
    product_group: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # [{"code": "A1", "part": "A", "text": "...", "max": 5, "mandatory_from": 3}, ...]
    criteria: Mapped[list] = mapped_column(JSONB)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
