"""Per-province data versions that PostgreSQL itself moves at the commit of every change they cover.

Revision ID: 0021
Revises: 0020

The dashboard caches what it shows per province under these versions. Two scopes: "counts" (certificates,
products, producers, administrative units: the certificate counts and the registry's totals) and "summary"
(users, units, councils, policies, targets, reported figures, cycles, applications: the dashboard's other
figures). A version must change whenever a transaction that changed its tables commits, whatever wrote them
(the ORM, the import's set-wise batches, the generator's INSERT … SELECT).

- `tenant_changes`: statement-level triggers on those tables (transition tables: one call per statement,
  not per row; the scopes are the trigger's arguments) append one row per province, scope and transaction
  (each commit removes the notes before its own, so the table holds about one row per province and scope).
  A transaction-local setting (`ocop.changed_tenants`, ",scope:tenant,…") remembers what is already noted,
  so a thousand-statement import notes each province once; and the reader uses it to never cache what its
  own uncommitted changes produced.
- `tenant_data_versions`: one row per province and scope holding a random version. A DEFERRED constraint
  trigger on `tenant_changes` replaces it at commit, so the row lock is held only between that moment and
  the commit (no writer waits on another's long transaction, no lock order to deadlock on), and commits
  change the version in commit order: a snapshot that sees a version sees every change made before it.
  Random (not a counter) so a recreated or restored database never reuses a version a cache still holds.
  The provinces already there get their versions here.

Both tables are tenant tables (RLS forced, tenant_isolation for the web role, which only reads them).
The trigger functions (schema `versions`) are SECURITY DEFINER, owned by their own NOLOGIN role whose one
right is writing these two tables (a generator transaction writes several provinces, and commits under
the last one's setting). Trigger functions cannot be called directly.

Also an index on applications (tenant_id, cycle_id, status): the dashboard counts this year's applications
by status on every view. Holds its own SQL.
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
VERSIONS_ROLE = os.environ.get("DB_VERSIONS_ROLE", "ocop_versions")
PREDICATE = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint)"
TABLES = ("tenant_changes", "tenant_data_versions")
# Each table and the versions its changes move: "counts" (the certificate counts, producers and products) and
# "summary" (the dashboard's other figures: users, units, councils, policies, targets, reported figures, cycles
# and applications).
SCOPES = {
    "certificates": ("counts",),
    "products": ("counts",),
    "producers": ("counts",),
    "admin_units": ("counts", "summary"),
    "users": ("summary",),
    "councils": ("summary",),
    "policies": ("summary",),
    "targets": ("summary",),
    "figures": ("summary",),
    "cycles": ("summary",),
    "applications": ("summary",),
}

NOTE_CHANGES = """
CREATE FUNCTION versions.tenant_data_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t bigint;
  scope text;
  mark text;
  seen text := coalesce(nullif(current_setting('ocop.changed_tenants', true), ''), ',');
  noted boolean := false;
BEGIN
  FOR t IN SELECT DISTINCT tenant_id FROM changed_rows LOOP
    FOREACH scope IN ARRAY TG_ARGV LOOP
      mark := scope || ':' || t || ',';
      IF position(',' || mark IN seen) = 0 THEN
        INSERT INTO public.tenant_changes (tenant_id, scope) VALUES (t, scope);
        seen := seen || mark;
        noted := true;
      END IF;
    END LOOP;
  END LOOP;
  IF noted THEN
    PERFORM set_config('ocop.changed_tenants', seen, true);
  END IF;
  RETURN NULL;
END
$$
"""

BUMP_VERSION = """
CREATE FUNCTION versions.tenant_data_version_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- The change noted was deleted in the same transaction (its province with it): nothing to version.
  IF NOT EXISTS (SELECT 1 FROM public.tenant_changes c WHERE c.tenant_id = NEW.tenant_id AND c.id = NEW.id) THEN
    RETURN NULL;
  END IF;
  INSERT INTO public.tenant_data_versions AS v (tenant_id, scope, version, changed_at)
  VALUES (NEW.tenant_id, NEW.scope, gen_random_uuid(), now())
  ON CONFLICT (tenant_id, scope) DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at;
  -- The notes before this one have done their work (their commits moved the version): the table stays small.
  -- Other transactions' pending notes are invisible here, so they are kept.
  DELETE FROM public.tenant_changes c WHERE c.tenant_id = NEW.tenant_id AND c.scope = NEW.scope AND c.id < NEW.id;
  RETURN NULL;
END
$$
"""

EVENTS = {"insert": ("INSERT", "NEW"), "update": ("UPDATE", "NEW"), "delete": ("DELETE", "OLD")}


def upgrade():
    # Not about versions: the dashboard's count of this year's applications by status, read in index order.
    op.create_index("ix_applications_cycle_status", "applications", ["tenant_id", "cycle_id", "status"])
    op.create_table(
        "tenant_changes",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_changes_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tenant_changes")),
    )
    op.create_table(
        "tenant_data_versions",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Uuid(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_data_versions_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "scope", name=op.f("pk_tenant_data_versions")),
    )
    # The provinces already there get a version now (before RLS: the owner writes it), so their counts are
    # cached from the first view; a province created later gets its own at its first change.
    op.execute(
        "INSERT INTO tenant_data_versions (tenant_id, scope, version, changed_at)"
        " SELECT id, scope, gen_random_uuid(), now() FROM tenants, (VALUES ('counts'), ('summary')) AS s (scope)"
    )
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{VERSIONS_ROLE}') "
        f"THEN CREATE ROLE {VERSIONS_ROLE} NOLOGIN; END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {VERSIONS_ROLE}")
    for table in TABLES:
        for statement in (
            f"GRANT SELECT ON {table} TO {APP_ROLE}",
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_isolation ON {table} USING ({PREDICATE}) WITH CHECK ({PREDICATE})",
            f"CREATE POLICY versions_write ON {table} TO {VERSIONS_ROLE} USING (true) WITH CHECK (true)",
        ):
            op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT, DELETE ON tenant_changes TO {VERSIONS_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON tenant_data_versions TO {VERSIONS_ROLE}")

    op.execute(f"GRANT {VERSIONS_ROLE} TO CURRENT_USER")
    # A new schema grants PUBLIC nothing (and an ACL equal to the default would not survive a dump).
    op.execute(f"CREATE SCHEMA versions AUTHORIZATION {VERSIONS_ROLE}")
    op.execute(f"SET LOCAL ROLE {VERSIONS_ROLE}")
    op.execute(NOTE_CHANGES)
    op.execute(BUMP_VERSION)
    op.execute("RESET ROLE")
    for name in ("tenant_data_changed()", "tenant_data_version_bump()"):
        op.execute(f"REVOKE ALL ON FUNCTION versions.{name} FROM PUBLIC")
    op.execute(
        "CREATE CONSTRAINT TRIGGER tenant_changes_bump AFTER INSERT ON tenant_changes"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION versions.tenant_data_version_bump()"
    )
    for table, scopes in SCOPES.items():
        arguments = ", ".join(f"'{scope}'" for scope in scopes)
        for suffix, (event, which) in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {table}_versioned_{suffix} AFTER {event} ON {table}"
                f" REFERENCING {which} TABLE AS changed_rows FOR EACH STATEMENT"
                f" EXECUTE FUNCTION versions.tenant_data_changed({arguments})"
            )
    op.execute(f"REVOKE {VERSIONS_ROLE} FROM CURRENT_USER")


def downgrade():
    op.drop_index("ix_applications_cycle_status", table_name="applications")
    for table in SCOPES:
        for suffix in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_versioned_{suffix} ON {table}")
    op.drop_table("tenant_data_versions")
    op.drop_table("tenant_changes")
    op.execute(f"GRANT {VERSIONS_ROLE} TO CURRENT_USER")
    op.execute("DROP SCHEMA IF EXISTS versions CASCADE")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {VERSIONS_ROLE}")
    op.execute(f"REVOKE {VERSIONS_ROLE} FROM CURRENT_USER")
