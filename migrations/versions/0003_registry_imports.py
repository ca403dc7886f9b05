"""Excel imports run as jobs (status, report) so that large files show their progress.

Revision ID: 0003
Revises: 0002
"""

import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copy of what tenants/rls.py produced when this revision was written: a migration holds its own
# SQL, so later edits of live code never change what an old migration does. Role names are
# cluster-wide (overridable for shared clusters, as then); roles are never dropped.
APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def upgrade():
    op.create_table(
        "registry_imports",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_registry_imports_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_registry_imports")),
    )
    for statement in _tenant_table_sql("registry_imports", "SELECT, INSERT, UPDATE, DELETE"):
        op.execute(statement)


def _tenant_table_sql(table: str, privileges: str) -> list[str]:
    """Granted to the app role; RLS enabled and forced, with the tenant policy and the roll-up read policy."""
    return [
        f"GRANT {privileges} ON {table} TO {APP_ROLE}",
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        f"DROP POLICY IF EXISTS national_rollup_read ON {table}",
        f"CREATE POLICY national_rollup_read ON {table} FOR SELECT TO {ROLLUP_ROLE} USING (true)",
        f"GRANT SELECT ON {table} TO {ROLLUP_ROLE}",
    ]


def downgrade():
    op.drop_table("registry_imports")
