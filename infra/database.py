"""Create a database and its owner role from a superuser URL, and derive the role URLs.

Used by `make run` and the tests. In production the DBA does the same once by hand; see README.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

OWNER_ROLE = "ocop_owner"
EXTENSIONS = ("unaccent", "pg_trgm")


def _with(admin_url: str, *, user: str | None = None, dbname: str | None = None) -> str:
    params = conninfo_to_dict(admin_url)
    if user:
        params["user"] = user
        params.pop("password", None)
    if dbname:
        params["dbname"] = dbname
    return make_conninfo(**params)


def to_url(conninfo: str) -> str:
    """A libpq key/value string back to a postgresql:// URL (host may be a socket directory)."""
    from urllib.parse import quote, urlencode

    p = conninfo_to_dict(conninfo)
    user = quote(p.get("user", ""), safe="")
    password = f":{quote(p['password'], safe='')}" if p.get("password") else ""
    host = p.get("host", "")
    query = {}
    netloc_host = host
    if host.startswith("/"):
        query["host"] = host
        netloc_host = ""
    port = f":{p['port']}" if p.get("port") and netloc_host else ""
    if p.get("port") and not netloc_host:
        query["port"] = p["port"]
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{user}{password}@{netloc_host}{port}/{p.get('dbname', '')}{suffix}"


def bootstrap(admin_url: str, dbname: str, *, recreate: bool = False) -> dict[str, str]:
    """Idempotently create the owner role and the database; return the URLs of every role.

    With trust authentication (dev, CI) no passwords are needed; production URLs come from the
    environment instead of from here.
    """
    from tenants.rls import APP_ROLE, NATIONAL_ROLE

    with psycopg.connect(_with(admin_url), autocommit=True) as conn:
        exists = conn.execute(sql.SQL("SELECT 1 FROM pg_roles WHERE rolname = %s"), [OWNER_ROLE]).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(OWNER_ROLE))
            )
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        if not conn.execute(sql.SQL("SELECT 1 FROM pg_database WHERE datname = %s"), [dbname]).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)
                )
            )
    with psycopg.connect(_with(admin_url, dbname=dbname), autocommit=True) as conn:
        for extension in EXTENSIONS:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension)))
    return {
        "MIGRATION_DATABASE_URL": to_url(_with(admin_url, user=OWNER_ROLE, dbname=dbname)),
        "DATABASE_URL": to_url(_with(admin_url, user=APP_ROLE, dbname=dbname)),
        "NATIONAL_DATABASE_URL": to_url(_with(admin_url, user=NATIONAL_ROLE, dbname=dbname)),
    }
