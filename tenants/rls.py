"""Database-side isolation: roles, grants and row-level security, as SQL.

Migrations never import this module: each revision holds a frozen copy of the SQL it runs (see
migrations/versions/0001_foundation.py), so editing this file never changes an old migration. Use it
as the template for a new revision's SQL; infra/database.py takes the role names from here.

Roles (names overridable by environment for shared clusters):
- owner   (the migration user): owns the tables; RLS is FORCED so even it sees no foreign rows. It is
          a member of the roll-up role (to create its views), so the roll-up policy excludes sessions
          it opened (session_user), even after SET ROLE (migration 0013).
- app     web and workers: not owner, not superuser, NOBYPASSRLS; DML on public tables; on accounts it
          reads the non-secret columns and writes nothing (the `auth.account_*` functions of the
          NOLOGIN role `ocop_accounts` do, migration 0019); on tenants (RLS) it updates only the current
          tenant's row.
- rollup  NOLOGIN: owns the `national` schema views; a SELECT-only policy lets it read all tenants.
- national the national office's login: may read `national` views, nothing in `public`.
- versions NOLOGIN (migration 0021): owns the `versions` schema's SECURITY DEFINER trigger functions that
          note changes of counted data and move each province's data version; writes only tenant_changes
          and tenant_data_versions (a policy for it alone), reads nothing else.
"""

from __future__ import annotations

import os

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
NATIONAL_ROLE = os.environ.get("DB_NATIONAL_ROLE", "ocop_national")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")
NATIONAL_SCHEMA = "national"

TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def create_roles_sql() -> list[str]:
    """Idempotent: roles are cluster-wide and may already exist (another database, an earlier run)."""

    def ensure(role: str, options: str) -> str:
        return (
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} {options}; END IF; END $$"
        )

    safe = "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
    return [
        ensure(APP_ROLE, f"LOGIN {safe}"),
        ensure(NATIONAL_ROLE, f"LOGIN {safe}"),
        ensure(ROLLUP_ROLE, f"NOLOGIN {safe}"),
        # The migration user must be able to create objects owned by the rollup role.
        f"GRANT {ROLLUP_ROLE} TO CURRENT_USER",
        "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO "
        f"{APP_ROLE}, {NATIONAL_ROLE}', current_database()); END $$",
        f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}, {ROLLUP_ROLE}",
    ]


def grant_table_sql(table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> list[str]:
    return [f"GRANT {privileges} ON {table} TO {APP_ROLE}"]


def enable_tenant_rls_sql(table: str) -> list[str]:
    """RLS enabled and forced, with the tenant policy and the national roll-up read policy."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        f"DROP POLICY IF EXISTS national_rollup_read ON {table}",
        # Not for sessions the migration user opened (it is a member of the roll-up role).
        "DO $$ BEGIN EXECUTE format('CREATE POLICY national_rollup_read ON "
        f"{table} FOR SELECT TO {ROLLUP_ROLE} USING (session_user <> %L)', current_user); END $$",
        f"GRANT SELECT ON {table} TO {ROLLUP_ROLE}",
    ]


def create_national_schema_sql() -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {NATIONAL_SCHEMA} AUTHORIZATION {ROLLUP_ROLE}",
        f"GRANT USAGE ON SCHEMA {NATIONAL_SCHEMA} TO {NATIONAL_ROLE}",
    ]


def national_view_sql(name: str, select: str) -> list[str]:
    """A roll-up view owned by the rollup role (so it reads across tenants), readable by national."""
    return [
        f"SET LOCAL ROLE {ROLLUP_ROLE}",
        f"CREATE OR REPLACE VIEW {NATIONAL_SCHEMA}.{name} AS {select}",
        f"GRANT SELECT ON {NATIONAL_SCHEMA}.{name} TO {NATIONAL_ROLE}",
        "RESET ROLE",
    ]
