"""Whole signed-in pages served again from Redis while nothing they show has changed.

A view marked @cached_page is kept per signed-in identity (user, province, session version), URL with its
query, province slug, language, Vietnam date and deploy, under the province's page version
(tenants/page_versions.py), read before the page is rendered. The version moves after every transaction
that wrote to the province (or to no province: "all"), so a page kept under the current version shows the
current data. Served from the cache, a request touches neither PostgreSQL nor the templates: Redis answers
who is signed in (the session), the version and the page, in two round trips.

Why it is safe to skip loading the user: the page was rendered for this identity after it was checked (a
200, for the same session version), and a deactivation, a role change or a password change is a write that
moves the version. Logging out deletes the session. What a page holds of the session (its CSRF token) is
kept as a placeholder and filled in per request; a session with messages waiting (flash) is never answered
from the cache, and only complete 200 HTML pages are kept.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, Response, current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from redis.exceptions import RedisError

from app.core import clock
from tenants.page_versions import init_page_versions, versions_read

PAGE_TTL_SECONDS = 600  # also the bound on staleness after a write this app did not make (psql, a restore)
MAX_PAGE_BYTES = 2 * 1024 * 1024
PAGES_PER_IDENTITY = 200  # kept per signed-in identity and PAGE_TTL_SECONDS (≈ 200 × 60 kB for the product list)
_CSRF = b"\x00csrf\x00"  # no rendered page holds a NUL (inputs refuse it)
_ROOTS = ("app", "tenants")
_SALT: list[str] = []


def cached_page(view):
    """Mark a tenant view whose GET page may be kept (see the module's docstring for what it must not show)."""
    view.page_cached = True
    return view


def init_app(app: Flask, redis) -> None:
    init_page_versions(app, redis)  # pages are kept in the same Redis as the versions they are kept under
    app.url_value_preprocessor(_look_up)  # app-wide: runs before the province is resolved from the URL


def answer_before_request() -> Response | None:
    """Registered before anything loads the user: the kept page, when _look_up found one."""
    body = g.pop("page_hit", None)
    if body is None:
        return None
    response = Response(body.replace(_CSRF, generate_csrf().encode()), mimetype="text/html")
    response.headers["X-Page-Cache"] = "hit"
    return response


def keep_after_request(response: Response) -> Response:
    pending = g.pop("page_miss", None)
    if pending is None or response.status_code != 200 or response.mimetype != "text/html":
        return response
    if g.get("page_writes"):  # the page may show what this request wrote and has not committed
        return response
    if response.direct_passthrough or response.is_streamed:
        return response
    key, version, identity = pending
    from flask_login import current_user  # the identity the page was rendered for: the one it is kept under

    if not current_user.is_authenticated or current_user.get_id() != identity:
        return response
    body = response.get_data()
    if len(body) > MAX_PAGE_BYTES or _CSRF in body:
        return response
    token = g.get("csrf_token")
    if token:
        body = body.replace(token.encode(), _CSRF)
    redis = current_app.extensions["page_versions"]
    try:
        # Each URL and query is its own page: a budget per identity bounds what one user can make Redis hold.
        budget = f"{current_app.config['RQ_QUEUE_PREFIX']}:page-budget:{identity}"
        kept = redis.incr(budget)
        if kept == 1:
            redis.expire(budget, PAGE_TTL_SECONDS)
        if kept > PAGES_PER_IDENTITY:
            return response
        redis.set(key, version.encode() + b"\n" + body, ex=PAGE_TTL_SECONDS)
    except RedisError:
        return response
    response.headers["X-Page-Cache"] = "miss"
    return response


def _look_up(endpoint, values) -> None:
    if request.method != "GET" or not values or "tenant_slug" not in values:
        return
    view = current_app.view_functions.get(endpoint)
    if not getattr(view, "page_cached", False) or not current_app.config["PAGE_CACHE"]:
        return
    if current_app.jinja_env.auto_reload:  # templates being edited
        return
    identity = session.get("_user_id")
    if not isinstance(identity, str) or not identity.startswith("u:") or "_flashes" in session:
        return
    try:
        tenant_id = int(identity.split(":")[1])
    except (IndexError, ValueError):
        return
    key = _page_key(values["tenant_slug"], identity)
    redis = current_app.extensions["page_versions"]
    try:
        version, (entry,) = versions_read(redis, current_app.config["RQ_QUEUE_PREFIX"], tenant_id, key)
    except RedisError:
        return
    if entry is not None:
        kept_version, _, body = entry.partition(b"\n")
        if kept_version.decode() == version:
            # tenants/resolution.py resolves no province for a request answered from the cache.
            g.page_hit = body
            g.served_from_cache = True
            g.log_user, g.log_tenant = identity, values["tenant_slug"]
            return
    g.page_miss = (key, version, identity)


def _page_key(slug: str, identity: str) -> str:
    parts = (
        slug,
        identity,
        str(session.get("lang")),
        request.script_root,
        request.host,
        request.path,
        request.query_string.decode("latin-1"),  # the bytes as sent, one character each
        clock.today().isoformat(),
        _deploy_salt(),
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{current_app.config['RQ_QUEUE_PREFIX']}:page:{digest}"


def _deploy_salt() -> str:
    """Changes with any file of the code, templates or translations: a deploy never serves an old page."""
    if not _SALT:
        digest = hashlib.sha256()
        base = Path(current_app.root_path).parent
        for root in _ROOTS:
            for folder, _dirs, files in sorted(os.walk(base / root)):
                for name in sorted(files):
                    if name.endswith((".py", ".html", ".mo", ".toml", ".json", ".js", ".css")):
                        stat = os.stat(os.path.join(folder, name))
                        digest.update(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        _SALT.append(digest.hexdigest()[:16])
    return _SALT[0]
