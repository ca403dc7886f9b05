"""Signing in, invitations and user management rules."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import any_, func, select

from app.auth.models import Account, User
from app.auth.passwords import hash_password, password_problems, verify_password
from app.auth.roles import GLOBAL_ROLES, PRODUCER, TENANT_ROLES
from app.core import clock
from app.core.observability import security_event
from app.core.search import text_matches
from app.core.text import nfc
from app.extensions import db


class AuthError(ValueError):
    """A rule was broken; the message is translated and safe to show."""


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


def authenticate_account(email: str, password: str, role: str) -> Account | None:
    account = db.session.scalar(select(Account).where(Account.email == normalise_email(email)))
    ok = verify_password(account.password_hash if account else None, password)
    if account is None or not ok or not account.is_active or account.role != role:
        return None
    account.last_login_at = clock.now()
    return account


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


def set_password(identity: User | Account, password: str) -> None:
    problems = password_problems(password, email=identity.email, name=identity.full_name)
    if problems:
        raise AuthError(" ".join(problems))
    identity.password_hash = hash_password(password)
    # Any session opened with the old password ends.
    identity.session_version = (identity.session_version or 0) + 1


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


def account_create(*, email: str, full_name: str, role: str, password: str) -> Account:
    if role not in GLOBAL_ROLES:
        raise AuthError(_("Vai trò không hợp lệ."))
    account = Account(email=normalise_email(email), full_name=nfc(full_name), role=role)
    set_password(account, password)
    db.session.add(account)
    db.session.flush()
    return account
