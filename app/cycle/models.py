"""The annual OCOP cycle of a tenant and the applications that move through it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk

APPLICATION_KINDS = ("new", "upgrade", "re_recognition")


class Cycle(TenantScoped, db.Model):
    """One year of the programme with its submission windows (from the tenant's definition)."""

    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("tenant_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    ideas_from: Mapped[date] = mapped_column(Date)
    ideas_until: Mapped[date] = mapped_column(Date)
    plans_from: Mapped[date] = mapped_column(Date)
    plans_until: Mapped[date] = mapped_column(Date)
    dossiers_from: Mapped[date] = mapped_column(Date)
    dossiers_until: Mapped[date] = mapped_column(Date)


class EvaluationRound(TenantScoped, db.Model):
    __tablename__ = "evaluation_rounds"
    __table_args__ = (
        UniqueConstraint("tenant_id", "cycle_id", "code"),
        tenant_fk("cycle_id", "cycles", ondelete="CASCADE"),
    )

    cycle_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # commune | district | province
    deadline: Mapped[date] = mapped_column(Date)


class Application(TenantScoped, db.Model):
    """A product's way through one cycle: idea → business plan → dossier → screening → council."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "cycle_id", "product_id"),
        tenant_fk("cycle_id", "cycles"),
        tenant_fk("product_id", "products"),
        Index("ix_applications_product", "tenant_id", "product_id"),  # a product's applications (0017)
        Index("ix_applications_cycle_updated", "tenant_id", "cycle_id", "updated_at", "id"),  # the pipeline (0020)
        # The dashboard's applications of the year by status: read in order from the index, no sort (0021).
        Index("ix_applications_cycle_status", "tenant_id", "cycle_id", "status"),
    )

    cycle_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    # Who screens the dossier: the commune (rules of 1/7/2025) or the district (earlier rules).
    screening_level: Mapped[str] = mapped_column(String(16))
    target_stars: Mapped[int | None] = mapped_column(Integer)
    idea_summary: Mapped[str] = mapped_column(Text, default="")
    business_plan: Mapped[str] = mapped_column(Text, default="")
    last_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ApplicationEvent(TenantScoped, db.Model):
    """Full history of an application's statuses, with who moved it and why."""

    __tablename__ = "application_events"
    __table_args__ = (
        tenant_fk("application_id", "applications", ondelete="CASCADE"),
        Index("ix_application_events_application", "tenant_id", "application_id"),  # the history (0017)
    )

    application_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class ApplicationDocument(TenantScoped, db.Model):
    """A document used for one requirement of an application's checklist (a document can serve
    several applications: that is how a still-valid test report is reused in an upgrade)."""

    __tablename__ = "application_documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "application_id", "requirement", "document_id"),
        tenant_fk("application_id", "applications", ondelete="CASCADE"),
        tenant_fk("document_id", "documents"),
        Index("ix_application_documents_document", "tenant_id", "document_id"),  # a document's uses (0017)
    )

    application_id: Mapped[int] = mapped_column(BigInteger)
    requirement: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[int] = mapped_column(BigInteger)
