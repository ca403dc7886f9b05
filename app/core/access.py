"""Access helpers: role checks and tenant-safe lookups that answer 404 alike for foreign and missing ids."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from app.core.observability import security_event
from app.extensions import db, login_manager

MAX_ID = 2**63 - 1  # ids are bigint


class IdConverter(IntegerConverter):
    """`<int:…>` that matches no id beyond bigint: such a URL is missing (404), not a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def get_or_404(model, object_id: int, *scope):
    """The isolation hook limits the select to the current tenant, so a foreign id is simply missing.

    `scope` narrows it further in the same query (e.g. a producer's own records): a record out of scope
    costs exactly what a missing one does, so timing tells them apart no better than the answer does.
    """
    obj = db.session.scalar(select(model).where(model.id == object_id, *scope))
    if obj is None:
        # Missing or another province's: the same answer, and the same event (many in a row = probing).
        security_event("id_not_found", model=model.__tablename__, id=object_id)
        abort(404)
    return obj


def roles_required(*roles: str):
    """Signed in to this area and holding one of the roles (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def login_required(view):
    return roles_required()(view)
