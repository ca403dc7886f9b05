"""Jobs take ids, never ORM objects. Each runs in an app context, in its tenant's database context,
attributed to the system in the audit log, and leaves a clean session behind."""

from __future__ import annotations

import contextlib
import functools
import importlib
import os

from flask import Flask, current_app, has_app_context

from app.extensions import db
from tenants.context import Actor, acting_as, tenant_scope

# The worker builds the application from its name, as `flask --app` and gunicorn do: jobs/ sits below
# the features, so it never imports the package that lists them.
APP_FACTORY = os.environ.get("OCOP_APP_FACTORY", "app.factory:create_app")
_worker_app: Flask | None = None


def worker_app() -> Flask:
    """The Flask app of this worker process (created once)."""
    global _worker_app
    if _worker_app is None:
        module, _, factory = APP_FACTORY.partition(":")
        _worker_app = getattr(importlib.import_module(module), factory)()
    return _worker_app


def _run(fn, args, kwargs, tenant_id: int | None):
    app = current_app._get_current_object() if has_app_context() else worker_app()
    scope = tenant_scope(tenant_id) if tenant_id is not None else contextlib.nullcontext()
    with app.app_context(), acting_as(Actor("system", None, f"job:{fn.__name__}")):
        try:
            with scope:  # the commit too must happen inside the tenant
                result = fn(*args, **kwargs)
                db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def tenant_job(fn):
    """`fn(*args)` becomes a job called as `job(tenant_id, *args)`; it runs inside that tenant only."""

    @functools.wraps(fn)
    def job(tenant_id: int, *args, **kwargs):
        if not isinstance(tenant_id, int):
            raise TypeError("a tenant job's first argument is the tenant id")
        return _run(fn, args, kwargs, tenant_id)

    return job


def system_job(fn):
    """A job with no tenant: it may read global tables and fan out one tenant job per tenant."""

    @functools.wraps(fn)
    def job(*args, **kwargs):
        return _run(fn, args, kwargs, None)

    return job
