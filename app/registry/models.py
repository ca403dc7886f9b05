"""Producers (chủ thể OCOP), their products, and the OCOP product taxonomy (shared reference data)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
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

PRODUCER_KINDS = ("htx", "enterprise", "coop_group", "household")
TRADEMARK_STATUSES = ("none", "applied", "registered", "collective", "geographical_indication")


class TaxonomyNode(db.Model):
    """A node of an OCOP classification, versioned by the act that defines it.

    QĐ 148/QĐ-TTg: group (6) → category/nhóm (17) → product set/bộ sản phẩm (26);
    QĐ 1048/QĐ-TTg: sector/ngành (6), kept for history. Shared by every tenant (no tenant_id).
    """

    __tablename__ = "taxonomy_nodes"
    __table_args__ = (UniqueConstraint("act", "code"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    act: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))  # group | category | set | sector
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("taxonomy_nodes.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Producer(TenantScoped, db.Model):
    __tablename__ = "producers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "registration_no"),
        UniqueConstraint("tenant_id", "code"),
        tenant_fk("unit_id", "admin_units"),
        Index(None, "tenant_id", "name", "id"),  # the list's order: a page reads index entries (0016)
    )

    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str | None] = mapped_column(String(64))  # the province's own code, an import match key
    kind: Mapped[str] = mapped_column(String(16))
    registration_no: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[int | None] = mapped_column(BigInteger)  # commune/ward (or district before 2025)
    representative: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    capital_vnd: Mapped[int | None] = mapped_column(BigInteger)
    workforce: Mapped[int | None] = mapped_column(Integer)
    land_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    members: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Product(TenantScoped, db.Model):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "producer_id", "name"),
        UniqueConstraint("tenant_id", "code"),
        tenant_fk("producer_id", "producers", deferrable=True, initially="IMMEDIATE"),  # the import defers it (0022)
        tenant_fk("unit_id", "admin_units"),
        Index(None, "tenant_id", "name", "id"),  # the list's order: a page reads index entries (0016)
    )

    producer_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str | None] = mapped_column(String(64))  # the province's own code, an import match key
    product_set_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("taxonomy_nodes.id"))
    unit_id: Mapped[int | None] = mapped_column(BigInteger)
    other_units: Mapped[str] = mapped_column(Text, default="")  # further communes, as written
    raw_material_area: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[str] = mapped_column(Text, default="")
    annual_output: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    output_unit: Mapped[str | None] = mapped_column(String(32))
    markets: Mapped[str] = mapped_column(Text, default="")
    export_countries: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    traceability: Mapped[str] = mapped_column(String(200), default="")
    trademark_status: Mapped[str] = mapped_column(String(32), default="none")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RegistryImport(TenantScoped, db.Model):
    """One Excel import, run by a job so that large files show their progress and never time out."""

    __tablename__ = "registry_imports"

    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | running | done | failed
    as_of: Mapped[date | None] = mapped_column(Date)  # the date the list describes (its stars, units)
    report: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
