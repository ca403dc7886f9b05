"""Signing in, invitations and user management rules."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta

import psycopg
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import any_, func, select, text
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import Account, User
from app.auth.passwords import (
    candidate_hash,
    default_settings,
    hash_password,
    password_problems,
    settings_need_rehash,
    verify_password,
)
from app.auth.roles import GLOBAL_ROLES, PRODUCER, TENANT_ROLES
from app.core import clock
from app.core.observability import security_event
from app.core.search import text_matches
from app.core.text import nfc
from app.extensions import db


class AuthError(ValueError):
    """A rule was broken; the message is translated and safe to show."""


class WrongCurrentPassword(AuthError):
    """A change needed the current password and was given another one."""


def normalise_email(email: str) -> str:
    return nfc(email or "").lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate_user(email: str, password: str) -> User | None:
    """A user of the current tenant with that password, or None (same cost for unknown emails)."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        return None
    user.last_login_at = clock.now()
    return user


def _account_settings(email: str) -> tuple[str, int]:
    """The argon2 parameters and salt of the account's stored hash (a fake, stable one for an unknown email)."""
    defaults, hash_len = default_settings()
    row = db.session.execute(
        text("SELECT settings, hash_len FROM auth.account_salt(:email, :defaults, :hash_len)"),
        {"email": email, "defaults": defaults, "hash_len": hash_len},
    ).one()
    return row.settings, row.hash_len


def authenticate_account(email: str, password: str, role: str) -> Account | None:
    """A national or platform account of that role with that password, or None.

    The web role never reads the stored hash (migration 0019): it hashes the typed password with the
    stored salt and parameters and the database compares (and records the login). An unknown email
    gets a fake salt and costs the same. A hash made with older parameters is replaced by one made with
    today's, from the password just proven right.
    """
    email = normalise_email(email)
    settings, hash_len = _account_settings(email)
    candidate = candidate_hash(password, settings, hash_len)
    account_id = db.session.scalar(
        text("SELECT auth.account_login(:email, :candidate, :role, :at)"),
        {"email": email, "candidate": candidate, "role": role, "at": clock.now()},
    )
    if account_id is None:
        return None
    if settings_need_rehash(settings, hash_len):
        db.session.scalar(
            text("SELECT auth.account_rehash(:id, :candidate, :new)"),
            {"id": account_id, "candidate": candidate, "new": hash_password(password)},
        )
    return db.session.get(Account, account_id, populate_existing=True)


def account_password_change(account: Account, current: str, password: str) -> None:
    """Change an account's password; the current one is required (checked by the database), and every
    session of the account ends (its session version is bumped)."""
    problems = password_problems(password, email=account.email, name=account.full_name)
    if problems:
        raise AuthError(" ".join(problems))
    settings, hash_len = _account_settings(account.email)
    version = db.session.scalar(
        text("SELECT auth.account_password_change(:id, :candidate, :new)"),
        {"id": account.id, "candidate": candidate_hash(current, settings, hash_len), "new": hash_password(password)},
    )
    if version is None:
        raise WrongCurrentPassword(_("Mật khẩu hiện tại không đúng."))
    set_committed_value(account, "session_version", version)


def _check_roles(roles: list[str], allowed: tuple[str, ...]) -> list[str]:
    unknown = [r for r in roles if r not in allowed]
    if unknown or not roles:
        raise AuthError(_("Vai trò không hợp lệ."))
    return list(dict.fromkeys(roles))


def _check_producer_link(roles: list[str], producer_id: int | None) -> None:
    if PRODUCER in roles and producer_id is None:
        raise AuthError(_("Tài khoản chủ thể OCOP phải gắn với một chủ thể."))


def user_invite(
    *, email: str, full_name: str, roles: list[str], unit_id: int | None = None, producer_id: int | None = None
) -> tuple[User, str]:
    """Create a user of the current tenant with a one-time invitation token (returned once)."""
    email = normalise_email(email)
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AuthError(_("Email này đã có tài khoản trong tỉnh."))
    roles = _check_roles(roles, TENANT_ROLES)
    _check_producer_link(roles, producer_id)
    user = User(email=email, full_name=nfc(full_name), roles=roles, unit_id=unit_id, producer_id=producer_id)
    token = _issue_invite(user)
    db.session.add(user)
    db.session.flush()
    return user, token


def user_reinvite(user: User) -> str:
    token = _issue_invite(user)
    db.session.flush()
    return token


def _issue_invite(user: User) -> str:
    token = secrets.token_urlsafe(32)
    user.invite_token_hash = _token_hash(token)
    user.invite_expires_at = clock.now() + timedelta(days=current_app.config["INVITE_VALID_DAYS"])
    return token


def user_by_invite(token: str) -> User | None:
    user = db.session.scalar(select(User).where(User.invite_token_hash == _token_hash(token)))
    if user is None or user.invite_expires_at is None or user.invite_expires_at < clock.now():
        return None
    return user


def set_password(user: User, password: str) -> None:
    """A tenant user's new password (accounts: account_password_change)."""
    problems = password_problems(password, email=user.email, name=user.full_name)
    if problems:
        raise AuthError(" ".join(problems))
    user.password_hash = hash_password(password)
    # Any session opened with the old password ends.
    user.session_version = (user.session_version or 0) + 1


def user_accept_invite(user: User, password: str) -> None:
    set_password(user, password)
    user.invite_token_hash = None
    user.invite_expires_at = None


def user_update(
    user: User,
    *,
    full_name: str,
    roles: list[str],
    unit_id: int | None,
    active: bool,
    acting_user: User | None,
    producer_id: int | None = None,
) -> None:
    roles = _check_roles(roles, TENANT_ROLES)
    _check_producer_link(roles, producer_id)
    if acting_user is not None and acting_user.id == user.id:
        if not active or "province_admin" not in roles:
            raise AuthError(_("Bạn không thể tự khóa hoặc bỏ quyền quản trị của chính mình."))
    if user.active and not active:
        user.session_version += 1
    if sorted(user.roles or []) != sorted(roles):
        security_event("roles_changed", target_user=user.id, before=sorted(user.roles or []), after=sorted(roles))
    user.full_name = nfc(full_name)
    user.roles = roles
    user.unit_id = unit_id
    user.producer_id = producer_id
    user.active = active


def users_search(query: str = "", role: str = ""):
    return db.session.scalars(users_query(query, role)).all()


def users_query(query: str = "", role: str = ""):
    """The select of the tenant's users by name (the list pages it, the export reads it all)."""
    stmt = select(User).order_by(User.full_name, User.id)
    if query:
        stmt = stmt.where(text_matches(query, User.full_name, User.email))
    if role:
        stmt = stmt.where(role == any_(User.roles))
    return stmt


def account_create(*, email: str, full_name: str, role: str, password: str, owner_url: str | None = None) -> Account:
    """A national or platform account, created as the database owner (an operator's task: `flask accounts
    create`): the web role may not write accounts (migration 0019). `owner_url` defaults to
    MIGRATION_DATABASE_URL, the owner's connection migrations use."""
    if role not in GLOBAL_ROLES:
        raise AuthError(_("Vai trò không hợp lệ."))
    email = normalise_email(email)
    problems = password_problems(password, email=email, name=full_name)
    if problems:
        raise AuthError(" ".join(problems))
    owner_url = owner_url or os.environ.get("MIGRATION_DATABASE_URL")
    if not owner_url:
        raise AuthError(_("Tạo tài khoản cần kết nối của chủ sở hữu cơ sở dữ liệu (MIGRATION_DATABASE_URL)."))
    with psycopg.connect(owner_url) as owner:
        row = owner.execute(
            "INSERT INTO accounts (email, full_name, role, password_hash, active, session_version) "
            "VALUES (%s, %s, %s, %s, true, 1) ON CONFLICT (email) DO NOTHING RETURNING id",
            [email, nfc(full_name), role, hash_password(password)],
        ).fetchone()
    if row is None:
        raise AuthError(_("Email này đã có tài khoản."))
    return db.session.get(Account, row[0])
