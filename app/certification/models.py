"""A certificate (Giấy chứng nhận sản phẩm OCOP): one recognition decision of one product.

Status is never stored: it is derived for any date from the dates kept here (valid_from/valid_to,
revoked_on, superseded_on), so a list as of 31/12/2020 and a list as of today read the same rows.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk

KINDS = ("new", "re_recognition", "upgrade")
SOURCES = ("manual", "import", "council")
AUTHORITIES = ("district", "province", "ministry")


def new_public_code() -> str:
    """32 hex digits (128 random bits), the same shape migration 0007 gives existing certificates."""
    return secrets.token_hex(16)


class Certificate(TenantScoped, db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        # One decision recognises a product once: recording it again is idempotent.
        UniqueConstraint("tenant_id", "product_id", "decision_number", "decision_date"),
        # The code on the QR (/verify/<code>): random, never a sequence. Unique per province so the
        # table stays distributable by tenant (Citus); across provinces its 128 random bits make a
        # clash vanishingly rare, and the public lookup by code alone uses the plain index below.
        UniqueConstraint("tenant_id", "public_code"),
        Index("ix_certificates_public_code", "public_code"),
        tenant_fk("product_id", "products", deferrable=True, initially="IMMEDIATE"),  # the import defers it (0022)
        tenant_fk("superseded_by_id", "certificates"),
        CheckConstraint("stars BETWEEN 3 AND 5", name="stars"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score"),
        CheckConstraint("valid_to >= valid_from", name="validity"),
        CheckConstraint(f"kind IN {KINDS}", name="kind"),
        CheckConstraint(f"source IN {SOURCES}", name="source"),
        CheckConstraint(f"authority IN {AUTHORITIES}", name="authority"),
        Index("ix_certificates_product", "tenant_id", "product_id", "decision_date"),
        Index("ix_certificates_validity", "tenant_id", "valid_from", "valid_to"),
        Index("ix_certificates_superseded_by", "tenant_id", "superseded_by_id"),  # the chain, backwards (0017)
        Index("ix_certificates_decision", "tenant_id", "decision_date", "id"),  # the list's order, by cursor (0020)
    )

    product_id: Mapped[int] = mapped_column(BigInteger)
    stars: Mapped[int] = mapped_column(Integer)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    part_scores: Mapped[dict | None] = mapped_column(JSONB)  # {"A": 30, "B": 20, "C": 28}
    decision_number: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date] = mapped_column(Date)
    authority: Mapped[str] = mapped_column(String(16))
    act: Mapped[str] = mapped_column(String(32))  # criteria act (rule version) in force on the decision date
    kind: Mapped[str] = mapped_column(String(16), default="new")
    source: Mapped[str] = mapped_column(String(16), default="manual")
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)  # last day of validity (inclusive)
    # Revocation (thu hồi): by decision; not valid from revoked_on (inclusive).
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    revoke_decision_number: Mapped[str | None] = mapped_column(String(64))
    # Kept by the service from the chain: the next certificate of the product and the day it took over.
    superseded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    superseded_on: Mapped[date | None] = mapped_column(Date)
    public_code: Mapped[str] = mapped_column(String(32), default=new_public_code)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
