"""Post-certification inspections: the province's policy, inspections (one live per certificate, kind and
period: a partial unique index), checklist answers, attachments, samples and lab results, corrective
actions, revocation proposals.

Revision ID: 0011
Revises: 0010

Holds its own SQL (no live helpers): the grants and RLS policies below are those every tenant table has.
"""

import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
TABLES = (
    "inspection_policies",
    "inspections",
    "inspection_answers",
    "inspection_attachments",
    "inspection_samples",
    "lab_results",
    "corrective_actions",
    "revocation_proposals",
)


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


def _now(name):
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def _text(name):
    return sa.Column(name, sa.Text(), server_default="", nullable=False)


def _check(table, name, condition):
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def upgrade():
    op.create_table(
        "inspection_policies",
        *_tenant("inspection_policies"),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        _now("updated_at"),
        _check("inspection_policies", "source", "source IN ('default', 'file', 'edited')"),
        _fk("inspection_policies", "updated_by", "users"),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_inspection_policies_tenant_id")),
    )

    op.create_table(
        "inspections",
        *_tenant("inspections"),
        sa.Column("certificate_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("inspector_id", sa.BigInteger(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        _text("notes"),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.BigInteger(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=16), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _check("inspections", "kind", "kind IN ('routine', 'sampling', 'expiry_review', 'follow_up', 'ad_hoc')"),
        _check("inspections", "status", "status IN ('planned', 'assigned', 'done', 'cancelled')"),
        _check("inspections", "outcome", "outcome IS NULL OR outcome IN ('pass', 'minor', 'major')"),
        _check(
            "inspections",
            "cancel_reason",
            "cancel_reason IS NULL OR cancel_reason IN ('superseded', 'revoked', 'expired', 'replanned', 'manual')",
        ),
        _check("inspections", "done", "status <> 'done' OR (outcome IS NOT NULL AND visited_on IS NOT NULL)"),
        _check("inspections", "assigned", "status <> 'assigned' OR inspector_id IS NOT NULL"),
        _check("inspections", "cancelled", "(status = 'cancelled') = (cancel_reason IS NOT NULL)"),
        _check("inspections", "window", "window_start <= due_on"),
        _fk("inspections", "certificate_id", "certificates"),
        _fk("inspections", "product_id", "products"),
        _fk("inspections", "inspector_id", "users"),
        _fk("inspections", "completed_by", "users"),
        _fk("inspections", "created_by", "users"),
    )
    # The guarantee scheduling relies on: one live inspection per certificate, kind and period.
    op.create_index(
        "uq_inspections_live_period",
        "inspections",
        ["tenant_id", "certificate_id", "kind", "period_key"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_index("ix_inspections_due", "inspections", ["tenant_id", "status", "due_on"])
    op.create_index("ix_inspections_inspector", "inspections", ["tenant_id", "inspector_id", "status"])
    op.create_index("ix_inspections_product", "inspections", ["tenant_id", "product_id"])

    op.create_table(
        "inspection_answers",
        *_tenant("inspection_answers"),
        sa.Column("inspection_id", sa.BigInteger(), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("item_text", sa.Text(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        _text("note"),
        sa.Column("answered_by", sa.BigInteger(), nullable=True),
        _now("answered_at"),
        _check("inspection_answers", "answer", "answer IN ('yes', 'no', 'na')"),
        _fk("inspection_answers", "inspection_id", "inspections", ondelete="CASCADE"),
        _fk("inspection_answers", "answered_by", "users"),
        sa.UniqueConstraint(
            "tenant_id",
            "inspection_id",
            "item_code",
            name=op.f("uq_inspection_answers_tenant_id_inspection_id_item_code"),
        ),
    )

    op.create_table(
        "inspection_attachments",
        *_tenant("inspection_attachments"),
        sa.Column("inspection_id", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _text("caption"),
        _now("created_at"),
        _check("inspection_attachments", "role", "role IN ('photo', 'document', 'lab_report')"),
        _fk("inspection_attachments", "inspection_id", "inspections", ondelete="CASCADE"),
        _fk("inspection_attachments", "document_id", "documents"),
        sa.UniqueConstraint(
            "tenant_id",
            "inspection_id",
            "document_id",
            name=op.f("uq_inspection_attachments_tenant_id_inspection_id_document_id"),
        ),
    )

    op.create_table(
        "inspection_samples",
        *_tenant("inspection_samples"),
        sa.Column("inspection_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        _text("description"),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("lab_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("conclusion", sa.String(length=8), nullable=True),
        sa.Column("result_on", sa.Date(), nullable=True),
        sa.Column("report_document_id", sa.BigInteger(), nullable=True),
        _now("created_at"),
        _check("inspection_samples", "status", "status IN ('taken', 'sent', 'resulted')"),
        _check("inspection_samples", "conclusion", "conclusion IS NULL OR conclusion IN ('pass', 'fail')"),
        _fk("inspection_samples", "inspection_id", "inspections", ondelete="CASCADE"),
        _fk("inspection_samples", "report_document_id", "documents"),
        sa.UniqueConstraint(
            "tenant_id", "inspection_id", "code", name=op.f("uq_inspection_samples_tenant_id_inspection_id_code")
        ),
    )

    op.create_table(
        "lab_results",
        *_tenant("lab_results"),
        sa.Column("sample_id", sa.BigInteger(), nullable=False),
        sa.Column("parameter", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=32), server_default="", nullable=False),
        sa.Column("limit_text", sa.String(length=64), server_default="", nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=True),
        _now("created_at"),
        _fk("lab_results", "sample_id", "inspection_samples", ondelete="CASCADE"),
        sa.UniqueConstraint(
            "tenant_id", "sample_id", "parameter", name=op.f("uq_lab_results_tenant_id_sample_id_parameter")
        ),
    )

    op.create_table(
        "corrective_actions",
        *_tenant("corrective_actions"),
        sa.Column("inspection_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence_document_id", sa.BigInteger(), nullable=True),
        _text("evidence_note"),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        _now("created_at"),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        _check("corrective_actions", "status", "status IN ('open', 'closed', 'cancelled')"),
        _check("corrective_actions", "closed", "(status = 'closed') = (closed_at IS NOT NULL)"),
        _fk("corrective_actions", "inspection_id", "inspections", ondelete="CASCADE"),
        _fk("corrective_actions", "evidence_document_id", "documents"),
        _fk("corrective_actions", "created_by", "users"),
        _fk("corrective_actions", "closed_by", "users"),
    )
    op.create_index("ix_corrective_actions_due", "corrective_actions", ["tenant_id", "status", "due_on"])
    op.create_index("ix_corrective_actions_inspection", "corrective_actions", ["tenant_id", "inspection_id"])

    op.create_table(
        "revocation_proposals",
        *_tenant("revocation_proposals"),
        sa.Column("inspection_id", sa.BigInteger(), nullable=False),
        sa.Column("certificate_id", sa.BigInteger(), nullable=False),
        sa.Column("grounds", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.BigInteger(), nullable=True),
        _now("proposed_at"),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _text("decision_note"),
        _check("revocation_proposals", "status", "status IN ('proposed', 'accepted', 'rejected', 'withdrawn')"),
        _check(
            "revocation_proposals",
            "grounds",
            "grounds IN ('process', 'food_safety', 'records', 'stopped', 'mandatory_criteria', 'other')",
        ),
        _fk("revocation_proposals", "inspection_id", "inspections"),
        _fk("revocation_proposals", "certificate_id", "certificates"),
        _fk("revocation_proposals", "proposed_by", "users"),
        _fk("revocation_proposals", "decided_by", "users"),
    )
    op.create_index(
        "uq_revocation_proposals_open",
        "revocation_proposals",
        ["tenant_id", "certificate_id"],
        unique=True,
        postgresql_where=sa.text("status = 'proposed'"),
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
