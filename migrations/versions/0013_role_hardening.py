"""Database roles hold only what they need: the owner reads no province's rows through the roll-up
policy, the web role may not change an account's role or email, nor another province's tenant row.

Revision ID: 0013
Revises: 0012

- Every tenant table's `national_rollup_read` policy applies to the roll-up role *and its members*; the
  migration user is a member (it creates the roll-up's views), so it read every province's rows. The
  policy now also requires that the session was not opened by the migration user: the national login
  (through the roll-up's views) and the web role (through the public verification function, a
  SECURITY DEFINER of the roll-up) still read across provinces; the owner, even after SET ROLE, does not.
- accounts: the web role updates only what logins, language and password changes write.
- tenants: row-level security; everyone may read (the landing page, URL resolution) and the platform may
  create, but only the current tenant's own row may be updated (the province file's sync runs in it).
"""

import os

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")
TENANT_SETTING = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
ACCOUNT_UPDATABLE = "full_name, password_hash, locale, active, session_version, last_login_at"


def _rollup_policies(using: str) -> str:
    return (
        "DO $$ DECLARE t text; BEGIN "
        "FOR t IN SELECT tablename FROM pg_policies "
        "WHERE schemaname = 'public' AND policyname = 'national_rollup_read' LOOP "
        f"EXECUTE format('ALTER POLICY national_rollup_read ON public.%I USING ({using})', t); "
        "END LOOP; END $$"
    )


def upgrade():
    # %L of current_user: the migration user's name, frozen into each policy.
    op.execute(
        "DO $$ DECLARE t text; BEGIN "
        "FOR t IN SELECT tablename FROM pg_policies "
        "WHERE schemaname = 'public' AND policyname = 'national_rollup_read' LOOP "
        "EXECUTE format('ALTER POLICY national_rollup_read ON public.%I USING (session_user <> %L)', t, current_user); "
        "END LOOP; END $$"
    )
    op.execute(f"REVOKE UPDATE ON accounts FROM {APP_ROLE}")
    op.execute(f"GRANT UPDATE ({ACCOUNT_UPDATABLE}) ON accounts TO {APP_ROLE}")
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY tenants_read ON tenants FOR SELECT USING (true)")
    op.execute("CREATE POLICY tenants_create ON tenants FOR INSERT WITH CHECK (true)")
    op.execute(
        f"CREATE POLICY tenants_own_update ON tenants FOR UPDATE TO {APP_ROLE} "
        f"USING (id = {TENANT_SETTING}) WITH CHECK (id = {TENANT_SETTING})"
    )


def downgrade():
    op.execute("DROP POLICY tenants_own_update ON tenants")
    op.execute("DROP POLICY tenants_create ON tenants")
    op.execute("DROP POLICY tenants_read ON tenants")
    op.execute("ALTER TABLE tenants DISABLE ROW LEVEL SECURITY")
    op.execute(f"REVOKE UPDATE ({ACCOUNT_UPDATABLE}) ON accounts FROM {APP_ROLE}")
    op.execute(f"GRANT UPDATE ON accounts TO {APP_ROLE}")
    op.execute(_rollup_policies("true"))
