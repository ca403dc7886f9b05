"""Loading the signed-in person for this request, and starting/ending sessions.

A tenant user is loaded only inside their own tenant's URLs; a national or platform account only
inside its own area. Anywhere else the request is anonymous.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import select

from app.auth.forms import LoginForm
from app.auth.models import Account, User
from app.auth.roles import NATIONAL_VIEWER, PLATFORM_ADMIN
from app.auth.throttle import FAILED_LOGIN_STATUS
from app.core.redirects import safe_next_path
from app.extensions import db, login_manager
from tenants.context import Actor

AREA_ROLE = {"national": NATIONAL_VIEWER, "platform": PLATFORM_ADMIN}


@login_manager.user_loader
def load_identity(identity: str):
    kind, *parts = identity.split(":")
    area = g.get("area")
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        return None
    if kind == "u" and area == "tenant" and len(numbers) == 3:
        tenant_id, user_id, version = numbers
        if tenant_id != g.tenant.id:
            return None
        user = db.session.scalar(select(User).where(User.id == user_id))
        return user if user and user.session_version == version and user.is_active else None
    if kind == "a" and area in AREA_ROLE and len(numbers) == 2:
        account_id, version = numbers
        account = db.session.get(Account, account_id)
        if account and account.session_version == version and account.is_active and account.role == AREA_ROLE[area]:
            return account
    return None


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        return {"error": 401}, 401
    area = g.get("area")
    endpoint = {"tenant": "auth.login", "national": "national.login", "platform": "platform.login"}.get(area)
    if endpoint is None:
        return redirect(url_for("home.index"))
    return redirect(url_for(endpoint, next=request.full_path.rstrip("?") if request.method == "GET" else None))


def start_session(identity: User | Account) -> None:
    """Rotate the session id (no fixation), keep the chosen language, then sign in."""
    lang = session.get("lang")
    _rotate_session_id()
    if lang:
        session["lang"] = lang
    login_user(identity)


def end_session() -> None:
    logout_user()
    _rotate_session_id()


def _rotate_session_id() -> None:
    """Drop the stored session and continue, empty, under a new id."""
    session["rotating"] = True  # Flask-Session only regenerates a non-empty session
    current_app.session_interface.regenerate(session)
    session.clear()


def actor_for(identity) -> Actor:
    if isinstance(identity, User):
        return Actor("user", identity.id, identity.email)
    if isinstance(identity, Account):
        return Actor("account", identity.id, f"{identity.role}:{identity.email}")
    return Actor("anonymous", None, "anonymous")


def safe_next(default: str) -> str:
    return safe_next_path(request.args.get("next"), default)


def login_page(authenticate: Callable[[str, str], User | Account | None], home_url: str):
    """The sign-in form of every area; `authenticate` decides who may enter this one."""
    form = LoginForm()
    if form.validate_on_submit():
        identity = authenticate(form.email.data, form.password.data)
        if identity is not None:
            db.session.commit()
            start_session(identity)
            return redirect(safe_next(home_url))
        flash(_("Email hoặc mật khẩu không đúng."), "error")
        return render_template("auth/login.html", form=form), FAILED_LOGIN_STATUS
    return render_template("auth/login.html", form=form)


def logout_page(login_url: str):
    end_session()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(login_url)
