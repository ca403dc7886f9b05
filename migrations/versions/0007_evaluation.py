"""Council evaluation: council members, rounds, round products, conflicts, score sheets, review requests,
criteria templates; the review period of a council; the public (QR) code of every certificate.

Revision ID: 0007
Revises: 0006

Holds its own SQL (no live helpers): the grants and RLS policies below are those every tenant table has.
"""

import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
TABLES = (
    "council_members",
    "council_rounds",
    "round_products",
    "conflict_declarations",
    "score_sheets",
    "review_requests",
    "criteria_templates",
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


def upgrade():
    op.add_column("councils", sa.Column("review_days", sa.Integer(), server_default="15", nullable=False))

    # Certificates: a random public code for the QR, filled for the existing rows; a council source.
    op.add_column("certificates", sa.Column("public_code", sa.String(length=32), nullable=True))
    # RLS is forced on the owner too; the fill must see every tenant's rows, so it is lifted for it only.
    op.execute("ALTER TABLE certificates NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE certificates SET public_code = replace(gen_random_uuid()::text, '-', '')")
    op.execute("ALTER TABLE certificates FORCE ROW LEVEL SECURITY")
    op.alter_column("certificates", "public_code", nullable=False)
    op.create_unique_constraint(op.f("uq_certificates_public_code"), "certificates", ["public_code"])
    op.drop_constraint(op.f("ck_certificates_source"), "certificates", type_="check")
    op.create_check_constraint(
        op.f("ck_certificates_source"), "certificates", "source IN ('manual', 'import', 'council')"
    )

    op.create_table(
        "council_members",
        *_tenant("council_members"),
        sa.Column("council_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("term_from", sa.Date(), nullable=True),
        sa.Column("term_to", sa.Date(), nullable=True),
        _now("created_at"),
        sa.CheckConstraint(
            "role IN ('chair', 'vice_chair', 'member', 'secretary')", name=op.f("ck_council_members_role")
        ),
        _fk("council_members", "council_id", "councils", ondelete="CASCADE"),
        _fk("council_members", "user_id", "users"),
        sa.UniqueConstraint(
            "tenant_id", "council_id", "user_id", name=op.f("uq_council_members_tenant_id_council_id_user_id")
        ),
    )
    op.create_index("ix_council_members_user", "council_members", ["tenant_id", "user_id"])

    op.create_table(
        "council_rounds",
        *_tenant("council_rounds"),
        sa.Column("council_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("meeting_on", sa.Date(), nullable=False),
        sa.Column("act", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_number", sa.String(length=64), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("decision_authority", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        _now("created_at"),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_council_rounds_status")),
        _fk("council_rounds", "council_id", "councils"),
        _fk("council_rounds", "created_by", "users"),
    )
    op.create_index("ix_council_rounds_council", "council_rounds", ["tenant_id", "council_id", "meeting_on"])

    op.create_table(
        "round_products",
        *_tenant("round_products"),
        sa.Column("round_id", sa.BigInteger(), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("mean_score", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("part_scores", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("criteria_means", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("stars", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("ministry_outcome", sa.String(length=16), nullable=True),
        sa.Column("ministry_decision_number", sa.String(length=64), nullable=True),
        sa.Column("ministry_decision_date", sa.Date(), nullable=True),
        sa.Column("certificate_id", sa.BigInteger(), nullable=True),
        _now("created_at"),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('recognised', 'not_recognised', 'failed_mandatory', 'proposed_ministry')",
            name=op.f("ck_round_products_outcome"),
        ),
        sa.CheckConstraint(
            "ministry_outcome IS NULL OR ministry_outcome IN ('recognised', 'not_recognised')",
            name=op.f("ck_round_products_ministry"),
        ),
        sa.CheckConstraint("stars IS NULL OR stars BETWEEN 3 AND 5", name=op.f("ck_round_products_stars")),
        _fk("round_products", "round_id", "council_rounds", ondelete="CASCADE"),
        _fk("round_products", "application_id", "applications"),
        _fk("round_products", "product_id", "products"),
        _fk("round_products", "certificate_id", "certificates"),
        sa.UniqueConstraint(
            "tenant_id", "round_id", "application_id", name=op.f("uq_round_products_tenant_id_round_id_application_id")
        ),
    )
    op.create_index("ix_round_products_product", "round_products", ["tenant_id", "product_id"])

    op.create_table(
        "conflict_declarations",
        *_tenant("conflict_declarations"),
        sa.Column("round_product_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("conflicted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("flags", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        _now("declared_at"),
        _fk("conflict_declarations", "round_product_id", "round_products", ondelete="CASCADE"),
        _fk("conflict_declarations", "member_id", "council_members", ondelete="CASCADE"),
        sa.UniqueConstraint(
            "tenant_id",
            "round_product_id",
            "member_id",
            name=op.f("uq_conflict_declarations_tenant_id_round_product_id_member_id"),
        ),
    )

    op.create_table(
        "score_sheets",
        *_tenant("score_sheets"),
        sa.Column("round_product_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("points", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        _now("updated_at"),
        sa.CheckConstraint("total >= 0 AND total <= 100", name=op.f("ck_score_sheets_total")),
        _fk("score_sheets", "round_product_id", "round_products", ondelete="CASCADE"),
        _fk("score_sheets", "member_id", "council_members", ondelete="CASCADE"),
        sa.UniqueConstraint(
            "tenant_id",
            "round_product_id",
            "member_id",
            "attempt",
            name=op.f("uq_score_sheets_tenant_id_round_product_id_member_id_attempt"),
        ),
    )

    op.create_table(
        "review_requests",
        *_tenant("review_requests"),
        sa.Column("round_product_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _now("requested_at"),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.BigInteger(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('rescore', 'confirmed')", name=op.f("ck_review_requests_outcome")
        ),
        _fk("review_requests", "round_product_id", "round_products", ondelete="CASCADE"),
        _fk("review_requests", "requested_by", "users"),
        _fk("review_requests", "answered_by", "users"),
    )
    op.create_index("ix_review_requests_round_product", "review_requests", ["tenant_id", "round_product_id"])

    op.create_table(
        "criteria_templates",
        *_tenant("criteria_templates"),
        sa.Column("act", sa.String(length=32), nullable=False),
        sa.Column("product_group", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        _now("created_at"),
        _fk("criteria_templates", "created_by", "users"),
        sa.UniqueConstraint(
            "tenant_id", "act", "product_group", name=op.f("uq_criteria_templates_tenant_id_act_product_group")
        ),
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
    op.drop_constraint(op.f("ck_certificates_source"), "certificates", type_="check")
    op.execute("ALTER TABLE certificates NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE certificates SET source = 'manual' WHERE source = 'council'")
    op.execute("ALTER TABLE certificates FORCE ROW LEVEL SECURITY")
    op.create_check_constraint(op.f("ck_certificates_source"), "certificates", "source IN ('manual', 'import')")
    op.drop_constraint(op.f("uq_certificates_public_code"), "certificates", type_="unique")
    op.drop_column("certificates", "public_code")
    op.drop_column("councils", "review_days")
