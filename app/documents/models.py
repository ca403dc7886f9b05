"""Evidence documents stored in object storage; the database holds their state and checksums."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk

# awaiting_upload → pending (confirmed, stored) → verifying → accepted | rejected
DOCUMENT_STATUSES = ("awaiting_upload", "pending", "verifying", "accepted", "rejected")


class Document(TenantScoped, db.Model):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "storage_key"),
        tenant_fk("producer_id", "producers"),
        tenant_fk("product_id", "products"),
        Index("ix_documents_status", "tenant_id", "status"),  # the reconciler looks for stalled ones
        Index("ix_documents_product", "tenant_id", "product_id"),  # a product's evidence (0017)
        Index("ix_documents_producer", "tenant_id", "producer_id"),  # a producer's evidence (0017)
    )

    producer_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    requirement: Mapped[str] = mapped_column(String(64))  # checklist item it answers, e.g. test_report
    title: Mapped[str] = mapped_column(String(300), default="")
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    declared_size: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="awaiting_upload")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    issued_on: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    verify_attempts: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def verified_key(self) -> str:
        """Where the verified bytes live: a key no presigned form names (each form names exactly its
        `storage_key`), so replaying the upload form cannot replace what was accepted."""
        return verified_key(self.storage_key)


def verified_key(storage_key: str) -> str:
    return f"verified/{storage_key}"
