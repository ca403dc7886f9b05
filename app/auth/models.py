"""Tenant users (one province each) and global accounts (national office, platform admins)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, Identity, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from tenants.models import TenantScoped, tenant_fk


class LoginIdentity:
    """What Flask-Login needs, shared by users and accounts.

    The session id embeds session_version: bumping it (password change, deactivation) ends every
    session of that person at once.
    """

    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and self.password_hash is not None


class User(LoginIdentity, TenantScoped, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "invite_token_hash"),
        tenant_fk("unit_id", "admin_units"),
        tenant_fk("producer_id", "producers"),
    )

    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    # A commune officer's commune; empty for province-wide staff.
    unit_id: Mapped[int | None] = mapped_column(BigInteger)
    # A producer user acts for one producer (chủ thể) of the tenant.
    producer_id: Mapped[int | None] = mapped_column(BigInteger)
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    invite_token_hash: Mapped[str | None] = mapped_column(String(64))
    invite_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    def get_id(self) -> str:
        return f"u:{self.tenant_id}:{self.id}:{self.session_version}"

    def remember_locale(self, code: str) -> None:
        self.locale = code

    def has_role(self, *roles: str) -> bool:
        return any(role in (self.roles or []) for role in roles)

    @property
    def role_set(self) -> frozenset:
        return frozenset(self.roles or ())


class Account(LoginIdentity, db.Model):
    """A national-office or platform account: belongs to no tenant.

    Read-only for the web role (migration 0019): it may not read `password_hash` (never loaded: reading
    it raises) nor write any column; logins, password and language changes go through the database's
    `auth.account_*` functions (app/auth/services.py), creation through the owner (`flask accounts create`).
    """

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), deferred=True, deferred_raiseload=True)
    role: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    def get_id(self) -> str:
        return f"a:{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        # The hash is not the web role's to read; an account without one can never sign in (auth.account_login).
        return bool(self.active)

    def remember_locale(self, code: str) -> None:
        """The language follows the account (through auth.account_locale_set: the row is not the web role's)."""
        db.session.execute(text("SELECT auth.account_locale_set(:id, :locale)"), {"id": self.id, "locale": code})
        set_committed_value(self, "locale", code)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @property
    def role_set(self) -> frozenset:
        return frozenset((self.role,))
