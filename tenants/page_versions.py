"""Per-province page versions in Redis, moved after every transaction that wrote to the province.

The whole-page cache (app/auth/page_cache.py) keeps a rendered page under the version its province had
*before* the page was rendered, and serves it only while that version is still current. So a version must
move after (never only before) the commit of every change a page could show.

The engine notices writes by itself, whatever issued them (the ORM, the import's set-wise batches, jobs,
commands): any statement that is not a read marks its connection with the province current at that moment,
or with "all" when none is (the platform, tenants sync, system jobs). When the connection goes back to the
pool its transaction has ended (committed or rolled back), and the marked versions are replaced by new
random ones (random, so a flushed or restored Redis never brings an old version back). A rollback moves a
version for nothing; that only costs a page rendered anew.

Writes that bypass this engine (psql, a restore) are not noticed: pages are kept PAGE_TTL_SECONDS at most,
and `flask tenants expire-pages [SLUG]` renders them anew at once.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import current_app, g, has_request_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.extensions import db
from tenants.context import current_tenant_id

ALL = "all"
_MARKS = "ocop_page_writes"  # the pooled connection's info: the provinces written since its checkout
# Statements that read only; everything else (INSERT, UPDATE, DELETE, COPY, DDL, …) counts as a write.
_READ = re.compile(r"\s*(select|show|set|explain|savepoint|release|rollback|begin|commit)\b", re.I)
# WITH … SELECT reads, unless one of its parts changes rows (a writable CTE).
_WITH = re.compile(r"\s*with\b", re.I)
_DML = re.compile(r"\b(insert|update|delete|merge)\b", re.I)
# SELECT schema.function(…): how the app calls the functions that write (auth.account_login, national.refresh_…).
_CALL = re.compile(r"\s*select\s+\w+\.\w+\s*\(", re.I)
log = logging.getLogger(__name__)


def is_write(statement: str) -> bool:
    if _WITH.match(statement):
        return _DML.search(statement) is not None
    return _READ.match(statement) is None or _CALL.match(statement) is not None


def version_key(prefix: str, scope: int | str) -> str:
    return f"{prefix}:page-version:{scope}"


def versions_read(redis: Redis, prefix: str, tenant_id: int, *more_keys: str) -> tuple[str, list]:
    """The province's page version ("<its own>.<all>"), read with `more_keys` in one round trip.

    A version Redis does not hold yet is created here (SET NX: two readers agree on the first one)."""
    keys = [version_key(prefix, tenant_id), version_key(prefix, ALL)]
    values = redis.mget(*keys, *more_keys)
    own, common = values[0], values[1]
    if own is None or common is None:
        pipe = redis.pipeline()
        for key in keys:
            pipe.set(key, uuid.uuid4().hex, nx=True)
        pipe.mget(*keys)
        own, common = pipe.execute()[-1]
    return f"{own.decode()}.{common.decode()}", values[2:]


def versions_move(redis: Redis, prefix: str, scopes: set) -> None:
    pipe = redis.pipeline(transaction=False)
    for scope in scopes:
        pipe.set(version_key(prefix, scope), uuid.uuid4().hex)
    pipe.execute()


def init_page_versions(app, redis: Redis) -> None:
    """The app's engine moves page versions in `redis` (app.extensions["page_versions"])."""
    app.extensions["page_versions"] = redis
    with app.app_context():
        install_page_versions(db.engine, redis, app.config["RQ_QUEUE_PREFIX"])


def kept_under_page_version(tenant_id: int, key: str, ttl: int, compute) -> str:
    """A value cached in Redis that stays true to the data: kept with the province's page version read before it
    was computed, used only while that version is current (the order the page cache relies on, for the pieces
    a page shows from caches of its own)."""
    redis = current_app.extensions["page_versions"]
    version, (cached,) = versions_read(redis, current_app.config["RQ_QUEUE_PREFIX"], tenant_id, key)
    if cached is not None:
        kept_version, _, value = cached.decode().partition(" ")
        if kept_version == version:
            return value
    value = str(compute())
    redis.set(key, f"{version} {value}", ex=ttl)
    return value


def pages_expire(scopes: set) -> None:
    """Move these versions now: for writes made past the engine's events (raw connections, psql, a restore)."""
    versions_move(current_app.extensions["page_versions"], current_app.config["RQ_QUEUE_PREFIX"], scopes)


def install_page_versions(engine: Engine, redis: Redis, prefix: str) -> None:
    """Mark each write with its province; move the marked versions once the transaction has ended."""

    @event.listens_for(engine, "before_cursor_execute")
    def _mark(conn, cursor, statement, parameters, context, executemany):
        if is_write(statement):
            tenant_id = current_tenant_id()
            conn.info.setdefault(_MARKS, set()).add(ALL if tenant_id is None else tenant_id)
            if has_request_context():
                g.page_writes = True  # what this request renders may hold its own uncommitted changes

    @event.listens_for(engine, "checkin")
    def _move(dbapi_connection, record):
        # Checked in after its transaction ended (the pool has rolled back whatever was left open).
        scopes = record.info.pop(_MARKS, None)
        if scopes:
            try:
                versions_move(redis, prefix, scopes)
            except RedisError:  # pages of these provinces may stay up to PAGE_TTL_SECONDS old
                log.exception("page versions not moved: %s", sorted(map(str, scopes)))
