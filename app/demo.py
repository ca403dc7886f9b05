"""Demo accounts for `make run` (never run in production: the passwords are printed)."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from app.auth import services
from app.auth.models import Account, User
from app.auth.roles import NATIONAL_VIEWER, PLATFORM_ADMIN, PROVINCE_ADMIN, PROVINCE_OFFICER
from app.extensions import db
from tenants.context import Actor, acting_as, tenant_scope
from tenants.models import Tenant

DEMO_PASSWORD = "OcopDemo2026"


def _ensure_account(email: str, name: str, role: str) -> None:
    if db.session.scalar(select(Account).where(Account.email == email)) is None:
        services.account_create(email=email, full_name=name, role=role, password=DEMO_PASSWORD)


def _ensure_user(email: str, name: str, roles: list[str]) -> None:
    if db.session.scalar(select(User).where(User.email == email)) is None:
        user, _token = services.user_invite(email=email, full_name=name, roles=roles)
        services.user_accept_invite(user, DEMO_PASSWORD)


def seed_demo() -> list[tuple[str, str, str]]:
    """Idempotent. Returns (where, email, password) for every demo login."""
    logins = []
    with acting_as(Actor("system", None, "demo seed")):
        _ensure_account("platform@ocop.demo", "Quản trị nền tảng", PLATFORM_ADMIN)
        _ensure_account("national@ocop.demo", "Văn phòng Điều phối NTM Trung ương", NATIONAL_VIEWER)
        logins += [("/platform/login", "platform@ocop.demo", DEMO_PASSWORD),
                   ("/national/login", "national@ocop.demo", DEMO_PASSWORD)]
        for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)).all():
            with tenant_scope(tenant.id):
                _ensure_user(f"admin@{tenant.slug}.ocop.demo", f"Quản trị {tenant.name}", [PROVINCE_ADMIN])
                _ensure_user(f"canbo@{tenant.slug}.ocop.demo", f"Cán bộ OCOP {tenant.name}", [PROVINCE_OFFICER])
                db.session.flush()
            logins += [(f"/{tenant.slug}/login", f"admin@{tenant.slug}.ocop.demo", DEMO_PASSWORD),
                       (f"/{tenant.slug}/login", f"canbo@{tenant.slug}.ocop.demo", DEMO_PASSWORD)]
        db.session.commit()
    return logins


def register_demo_cli(app: Flask) -> None:
    @app.cli.group("demo")
    def demo():
        """Demo data for development."""

    @demo.command("seed")
    def seed():
        for where, email, password in seed_demo():
            click.echo(f"{where:28} {email:34} {password}")
