"""Post-certification inspections (hậu kiểm): the province's policy, the planned and recorded inspections,
their checklist answers, attachments, samples and lab results, corrective actions and revocation proposals.

An inspection belongs to one certificate and one period of one kind (`period_key`); the partial unique
index `uq_inspections_live_period` makes a second live inspection for the same certificate, kind and
period impossible, so scheduling can run set-wise with ON CONFLICT DO NOTHING and be repeated freely.
Overdue is derived (due_on < today while planned/assigned), never stored.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk

# routine: periodic inspection by star/score band/product group; sampling: samples and lab tests
# (food: yearly); expiry_review: N days before the certificate expires; follow_up: a re-visit after a
# major finding; ad_hoc: unplanned (a complaint, a tip-off), planned by hand.
KINDS = ("routine", "sampling", "expiry_review", "follow_up", "ad_hoc")
PLANNED_KINDS = ("routine", "sampling", "expiry_review")  # made by the scheduler from the policy
STATUSES = ("planned", "assigned", "done", "cancelled")
OPEN_STATUSES = ("planned", "assigned")  # not yet done: re-planned, moved or cancelled by the scheduler
OUTCOMES = ("pass", "minor", "major")
# Why an inspection was cancelled: the certificate ended (superseded/revoked/expired), the policy or the
# certificate changed and the period no longer exists (replanned), or an officer cancelled it (manual,
# which the scheduler respects: it does not plan the same period again).
CANCEL_REASONS = ("superseded", "revoked", "expired", "replanned", "manual")
ANSWERS = ("yes", "no", "na")
ATTACHMENT_ROLES = ("photo", "document", "lab_report")
SAMPLE_STATUSES = ("taken", "sent", "resulted")
SAMPLE_CONCLUSIONS = ("pass", "fail")
ACTION_STATUSES = ("open", "closed", "cancelled")
PROPOSAL_STATUSES = ("proposed", "accepted", "rejected", "withdrawn")
# Grounds for revocation seen in the provinces' regulations (DOMAIN.md, Certificates).
REVOCATION_GROUNDS = ("process", "food_safety", "records", "stopped", "mandatory_criteria", "other")
POLICY_SOURCES = ("default", "file", "edited")


def _in(column: str, values: tuple[str, ...], nullable: bool = False) -> str:
    allowed = ", ".join(f"'{v}'" for v in values)
    return f"{column} IS NULL OR {column} IN ({allowed})" if nullable else f"{column} IN ({allowed})"


class InspectionPolicy(TenantScoped, db.Model):
    """The province's inspection policy (one row per tenant): the `[inspection]` section of the province
    file, or a province admin's edit of it. `rules` is validated by app/inspection/policy.py."""

    __tablename__ = "inspection_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        tenant_fk("updated_by", "users"),
        CheckConstraint(_in("source", POLICY_SOURCES), name="source"),
    )

    rules: Mapped[dict] = mapped_column(JSONB)
    # Bumped on every change: inspections remember the version they were planned under.
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(16), default="default")
    # sha256 of the file's section last applied: an admin's edit stays until the file's section changes.
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Inspection(TenantScoped, db.Model):
    __tablename__ = "inspections"
    __table_args__ = (
        tenant_fk("certificate_id", "certificates"),
        tenant_fk("product_id", "products"),
        tenant_fk("inspector_id", "users"),
        tenant_fk("completed_by", "users"),
        tenant_fk("created_by", "users"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("outcome", OUTCOMES, nullable=True), name="outcome"),
        CheckConstraint(_in("cancel_reason", CANCEL_REASONS, nullable=True), name="cancel_reason"),
        CheckConstraint("status <> 'done' OR (outcome IS NOT NULL AND visited_on IS NOT NULL)", name="done"),
        CheckConstraint("status <> 'assigned' OR inspector_id IS NOT NULL", name="assigned"),
        CheckConstraint("(status = 'cancelled') = (cancel_reason IS NOT NULL)", name="cancelled"),
        CheckConstraint("window_start <= due_on", name="window"),
        # The guarantee: one live (not cancelled) inspection per certificate, kind and period.
        Index(
            "uq_inspections_live_period",
            "tenant_id",
            "certificate_id",
            "kind",
            "period_key",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("ix_inspections_due", "tenant_id", "status", "due_on"),
        Index("ix_inspections_inspector", "tenant_id", "inspector_id", "status"),
        Index("ix_inspections_product", "tenant_id", "product_id"),
        Index("ix_inspections_due_on", "tenant_id", "due_on", "id"),  # the list's order, by cursor (0020)
    )

    certificate_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int] = mapped_column(BigInteger)  # the certificate's product (queues by commune, producer)
    kind: Mapped[str] = mapped_column(String(16))
    # The period this inspection covers, e.g. "12m:2" (2nd 12-month period of the certificate),
    # "expiry", "adhoc:<uuid>": the unique index is on (certificate, kind, period_key).
    period_key: Mapped[str] = mapped_column(String(64))
    window_start: Mapped[date] = mapped_column(Date)  # the earliest day it is meant to happen
    due_on: Mapped[date] = mapped_column(Date)  # overdue after this day
    status: Mapped[str] = mapped_column(String(16), default="planned")
    inspector_id: Mapped[int | None] = mapped_column(BigInteger)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    visited_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(8))
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[int | None] = mapped_column(BigInteger)
    cancel_reason: Mapped[str | None] = mapped_column(String(16))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    policy_version: Mapped[int | None] = mapped_column(Integer)  # the policy it was planned under (None: by hand)
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # None: the scheduler
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Version for guarded transitions (the page sends the version it showed).
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class InspectionAnswer(TenantScoped, db.Model):
    """One checklist item answered during a visit; the item's text is copied so a later policy edit does
    not change what was asked."""

    __tablename__ = "inspection_answers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "inspection_id", "item_code"),
        tenant_fk("inspection_id", "inspections", ondelete="CASCADE"),
        tenant_fk("answered_by", "users"),
        CheckConstraint(_in("answer", ANSWERS), name="answer"),
    )

    inspection_id: Mapped[int] = mapped_column(BigInteger)
    item_code: Mapped[str] = mapped_column(String(64))
    item_text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    answered_by: Mapped[int | None] = mapped_column(BigInteger)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InspectionAttachment(TenantScoped, db.Model):
    """A photo or document of the visit, uploaded through the documents service (app/documents)."""

    __tablename__ = "inspection_attachments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "inspection_id", "document_id"),
        tenant_fk("inspection_id", "inspections", ondelete="CASCADE"),
        tenant_fk("document_id", "documents"),
        CheckConstraint(_in("role", ATTACHMENT_ROLES), name="role"),
    )

    inspection_id: Mapped[int] = mapped_column(BigInteger)
    document_id: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(16), default="photo")
    caption: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InspectionSample(TenantScoped, db.Model):
    """A product sample taken during an inspection and sent to a laboratory."""

    __tablename__ = "inspection_samples"
    __table_args__ = (
        UniqueConstraint("tenant_id", "inspection_id", "code"),
        tenant_fk("inspection_id", "inspections", ondelete="CASCADE"),
        tenant_fk("report_document_id", "documents"),
        CheckConstraint(_in("status", SAMPLE_STATUSES), name="status"),
        CheckConstraint(_in("conclusion", SAMPLE_CONCLUSIONS, nullable=True), name="conclusion"),
    )

    inspection_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))  # the label on the sample
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    taken_on: Mapped[date] = mapped_column(Date)
    lab_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    sent_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="taken")
    conclusion: Mapped[str | None] = mapped_column(String(8))  # the lab's overall verdict
    result_on: Mapped[date | None] = mapped_column(Date)
    report_document_id: Mapped[int | None] = mapped_column(BigInteger)  # the lab report (phiếu kết quả)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LabResult(TenantScoped, db.Model):
    """One tested parameter of a sample (e.g. coliforms, lead) against its limit."""

    __tablename__ = "lab_results"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sample_id", "parameter"),
        tenant_fk("sample_id", "inspection_samples", ondelete="CASCADE"),
    )

    sample_id: Mapped[int] = mapped_column(BigInteger)
    parameter: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(String(64))  # as the lab wrote it ("< 10", "0,05")
    unit: Mapped[str] = mapped_column(String(32), default="", server_default="")
    limit_text: Mapped[str] = mapped_column(String(64), default="", server_default="")
    passed: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CorrectiveAction(TenantScoped, db.Model):
    """A correction the producer must make after an inspection, due by a date; closed with evidence.
    Overdue is derived: open and due_on < today."""

    __tablename__ = "corrective_actions"
    __table_args__ = (
        tenant_fk("inspection_id", "inspections", ondelete="CASCADE"),
        tenant_fk("evidence_document_id", "documents"),
        tenant_fk("created_by", "users"),
        tenant_fk("closed_by", "users"),
        CheckConstraint(_in("status", ACTION_STATUSES), name="status"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed"),
        Index("ix_corrective_actions_due", "tenant_id", "status", "due_on"),
        Index("ix_corrective_actions_inspection", "tenant_id", "inspection_id"),
    )

    inspection_id: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    evidence_document_id: Mapped[int | None] = mapped_column(BigInteger)
    evidence_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(BigInteger)


class RevocationProposal(TenantScoped, db.Model):
    """An inspector's proposal to revoke a certificate; accepted, it feeds certificate_revoke."""

    __tablename__ = "revocation_proposals"
    __table_args__ = (
        tenant_fk("inspection_id", "inspections"),
        tenant_fk("certificate_id", "certificates"),
        tenant_fk("proposed_by", "users"),
        tenant_fk("decided_by", "users"),
        CheckConstraint(_in("status", PROPOSAL_STATUSES), name="status"),
        CheckConstraint(_in("grounds", REVOCATION_GROUNDS), name="grounds"),
        # At most one proposal under consideration per certificate.
        Index(
            "uq_revocation_proposals_open",
            "tenant_id",
            "certificate_id",
            unique=True,
            postgresql_where=text("status = 'proposed'"),
        ),
    )

    inspection_id: Mapped[int] = mapped_column(BigInteger)
    certificate_id: Mapped[int] = mapped_column(BigInteger)
    grounds: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_by: Mapped[int | None] = mapped_column(BigInteger)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="", server_default="")
