"""Notices: what the platform tells people (expiry reminders, overdue alerts, evaluation results), their
recipients (in-app list and e-mail) and delivery state; the province's reminder settings.

Revision ID: 0012
Revises: 0011

Holds its own SQL (no live helpers): the grants and RLS policies below are those every tenant table has.
"""

import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
TABLES = ("notices", "notice_recipients", "notice_settings")


def _tenant(table):
    return [
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def _fk(table, column, remote, **kw):
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{remote}.tenant_id", f"{remote}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{remote}"),
        **kw,
    )


def upgrade():
    op.create_table(
        "notices",
        *_tenant("notices"),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("occasion", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=48), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("transport", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f("ck_notices_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notices_attempts")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "subject_key", "occasion", name=op.f("uq_notices_tenant_id_kind_subject_key_occasion")
        ),
    )
    op.create_index("ix_notices_status", "notices", ["tenant_id", "status", "created_at"])

    op.create_table(
        "notice_recipients",
        *_tenant("notice_recipients"),
        sa.Column("notice_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("user_id IS NOT NULL OR email IS NOT NULL", name=op.f("ck_notice_recipients_someone")),
        _fk("notice_recipients", "notice_id", "notices", ondelete="CASCADE"),
        _fk("notice_recipients", "user_id", "users", ondelete="CASCADE"),
    )
    op.create_index("ix_notice_recipients_notice", "notice_recipients", ["tenant_id", "notice_id"])
    op.create_index("ix_notice_recipients_user", "notice_recipients", ["tenant_id", "user_id", "read_at"])

    op.create_table(
        "notice_settings",
        *_tenant("notice_settings"),
        sa.Column("expiry_reminder_days", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.CheckConstraint(
            "30 <= ALL(expiry_reminder_days) AND cardinality(expiry_reminder_days) BETWEEN 1 AND 12",
            name=op.f("ck_notice_settings_expiry_reminder_days"),
        ),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_notice_settings_tenant_id")),
    )

    for table in TABLES:
        for statement in (
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_isolation ON {table} USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        ):
            op.execute(statement)


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
