"""The tenant (a province) and the tenant-owned reference data declared in provinces/*.toml."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
    case,
    cast,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, foreign, mapped_column

from app.core.acts import DEFAULT_CRITERIA_ACT
from app.extensions import db
from tenants.context import current_tenant_id


class Tenant(db.Model):
    """A province running its OCOP programme. Not tenant-scoped itself: it is the scope."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    official_code: Mapped[str | None] = mapped_column(String(16))
    standing_agency: Mapped[str] = mapped_column(Text, default="")
    criteria_act: Mapped[str] = mapped_column(String(32), default=DEFAULT_CRITERIA_ACT)
    merged_into: Mapped[str | None] = mapped_column(String(200))
    merged_on: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Windows and evaluation rounds of the annual cycle ([cycle] of the province file), or None.
    cycle_template: Mapped[dict | None] = mapped_column(JSONB)
    # Evidence storage allowed to the province; None means the platform default.
    storage_quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # sha256 of the province file last synced, so an unchanged file is a no-op.
    definition_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


def current_tenant() -> Tenant:
    """The Tenant row of the current tenant context (requests, jobs and services alike)."""
    tenant = db.session.get(Tenant, current_tenant_id())
    if tenant is None:
        raise LookupError("no current tenant")
    return tenant


class TenantScoped:
    """Mixin for every tenant-owned table.

    (tenant_id, id) is the primary key so that composite foreign keys can pin references to one
    tenant and the schema can be distributed by tenant_id. The migration enables and forces RLS.
    """

    tenant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tenants.id", ondelete="RESTRICT"), primary_key=True, sort_order=-2
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True, autoincrement=True, sort_order=-1)


def tenant_fk(local: str, remote_table: str, **kw) -> ForeignKeyConstraint:
    """A composite foreign key (tenant_id, local) -> remote_table(tenant_id, id)."""
    return ForeignKeyConstraint(["tenant_id", local], [f"{remote_table}.tenant_id", f"{remote_table}.id"], **kw)


def tenant_join(child, child_fk: str, parent):
    """Join condition for a relationship over a composite tenant foreign key.

    `child` and `parent` are callables returning the classes (they may not exist yet). Only the id
    column is marked foreign: tenant_id is stamped by the flush guard, never copied between rows.
    """

    def condition():
        child_cls, parent_cls = child(), parent()
        return and_(
            child_cls.tenant_id == parent_cls.tenant_id,
            foreign(getattr(child_cls, child_fk)) == parent_cls.id,
        )

    return condition


class AdminUnit(TenantScoped, db.Model):
    """A district (before 1/7/2025) or a commune/ward of the province."""

    __tablename__ = "admin_units"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        tenant_fk("parent_id", "admin_units"),
    )

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)

    @hybrid_method
    def is_valid_on(self, day: date) -> bool:
        """The unit exists on `day` (both ends inclusive); also usable in a query: `AdminUnit.is_valid_on(day)`."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    @is_valid_on.expression
    def is_valid_on(cls, day: date):
        return and_(
            or_(cls.valid_from.is_(None), cls.valid_from <= day), or_(cls.valid_to.is_(None), cls.valid_to >= day)
        )


COUNCIL_LEVELS = ("province", "district", "commune")
COUNCIL_LEVEL_LABELS = {"province": _l("Cấp tỉnh"), "district": _l("Cấp huyện"), "commune": _l("Cấp xã")}
# Codes of councils created in the app start with this; a province file may not use it (tenants/sync.py).
UI_COUNCIL_PREFIX = "ui-"


class Council(TenantScoped, db.Model):
    """An evaluation council (Hội đồng đánh giá, phân hạng) and its configurable rules."""

    __tablename__ = "councils"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))
    chair_title: Mapped[str | None] = mapped_column(String(200))
    quorum_ratio: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    max_score_spread: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    dossier_lead_working_days: Mapped[int] = mapped_column(Integer)
    # Days after the decision in which a producer may ask for a review of the result.
    review_days: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class TenantChange(TenantScoped, db.Model):
    """A transaction changed data of the province that a data version covers (its scope).

    Written only by PostgreSQL's statement-level triggers (migration 0021), once per province, scope and
    transaction; the web role reads it and writes nothing.
    """

    __tablename__ = "tenant_changes"

    scope: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# What each version covers (migration 0021's triggers): "counts" moves with certificates, products, producers
# and units; "summary" with users, units, councils, policies, targets, reported figures, cycles, applications.
VERSION_SCOPES = ("counts", "summary")


class TenantDataVersion(db.Model):
    """A data version of the province: replaced at the commit of every transaction that changed what its
    scope covers.

    Random, so a cache keyed by it is never served after a change (nor after a database is recreated or
    restored); moved by a deferred trigger in commit order (migration 0021). Not TenantScoped (its key is
    the tenant and scope), read only with an explicit tenant condition, under RLS like every tenant table.
    """

    __tablename__ = "tenant_data_versions"

    tenant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tenants.id", ondelete="RESTRICT"), primary_key=True, autoincrement=False
    )
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[uuid.UUID] = mapped_column(Uuid)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# The transaction-local setting in which migration 0021's triggers list what this transaction changed.
CHANGED_TENANTS_SETTING = "ocop.changed_tenants"


def data_version_of(tenant_id, scope: str = "counts"):
    """A scalar SQL expression (`tenant_id`: an id or a bound parameter): the province's data version of
    `scope` as text; NULL when it has none yet, or when this very transaction has changed what it covers
    (uncommitted: nothing may be cached from what it reads).

    Read it in the same statement as, or before, what is cached under it: a later statement may see newer
    data than the version (harmless), never older.
    """
    if scope not in VERSION_SCOPES:
        raise ValueError(f"unknown data version scope {scope!r}")
    version = (
        select(cast(TenantDataVersion.version, String))
        .where(TenantDataVersion.tenant_id == tenant_id, TenantDataVersion.scope == scope)
        .scalar_subquery()
    )
    changed_here = (
        func.strpos(
            func.coalesce(func.current_setting(CHANGED_TENANTS_SETTING, True), ""),
            func.concat(f",{scope}:", cast(tenant_id, String), ","),
        )
        > 0
    )
    return case((changed_here, null()), else_=version)
