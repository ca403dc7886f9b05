"""Login throttling shared across processes (Flask-Limiter on Redis).

Only failed attempts count: the 11th wrong password for one account within the window is refused
with 429 before the password is even checked. A per-address limit caps guessing across accounts.
"""

from flask import current_app, g, request

from app.auth.services import normalise_email
from app.extensions import limiter

FAILED_LOGIN_STATUS = 401


def _account_key() -> str:
    email = normalise_email(request.form.get("email") or "")  # the same key as the login itself
    scope = g.tenant.slug if g.get("tenant") is not None else g.get("area", "public")
    return f"login:{scope}:{email}"


def _failed(response) -> bool:
    return response.status_code == FAILED_LOGIN_STATUS


def throttled_login(view):
    view = limiter.limit(
        lambda: current_app.config["LOGIN_FAILURE_LIMIT"],
        key_func=_account_key,
        methods=["POST"],
        deduct_when=_failed,
        scope="login-account",
    )(view)
    return limiter.limit(
        lambda: current_app.config["LOGIN_IP_LIMIT"],
        methods=["POST"],
        deduct_when=_failed,
        scope="login-ip",
    )(view)
