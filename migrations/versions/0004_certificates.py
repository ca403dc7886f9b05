"""Certificates: one row per recognition decision of a product, with its validity and chain.

Revision ID: 0004
Revises: 0003

Holds its own SQL (no live helpers): the grants and RLS policies below are those every tenant table has.
"""

import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def upgrade():
    op.create_table(
        "certificates",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("part_scores", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("decision_number", sa.String(length=64), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("authority", sa.String(length=16), nullable=False),
        sa.Column("act", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("revoke_decision_number", sa.String(length=64), nullable=True),
        sa.Column("superseded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("superseded_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("stars BETWEEN 3 AND 5", name=op.f("ck_certificates_stars")),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name=op.f("ck_certificates_score")),
        sa.CheckConstraint("valid_to >= valid_from", name=op.f("ck_certificates_validity")),
        sa.CheckConstraint("kind IN ('new', 're_recognition', 'upgrade')", name=op.f("ck_certificates_kind")),
        sa.CheckConstraint("source IN ('manual', 'import')", name=op.f("ck_certificates_source")),
        sa.CheckConstraint("authority IN ('district', 'province', 'ministry')", name=op.f("ck_certificates_authority")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name=op.f("fk_certificates_tenant_id_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "superseded_by_id"],
            ["certificates.tenant_id", "certificates.id"],
            name=op.f("fk_certificates_tenant_id_superseded_by_id_certificates"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_certificates_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_certificates")),
        sa.UniqueConstraint(
            "tenant_id",
            "product_id",
            "decision_number",
            "decision_date",
            name=op.f("uq_certificates_tenant_id_product_id_decision_number_decision_date"),
        ),
    )
    op.create_index("ix_certificates_product", "certificates", ["tenant_id", "product_id", "decision_date"])
    op.create_index("ix_certificates_validity", "certificates", ["tenant_id", "valid_from", "valid_to"])
    for statement in (
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON certificates TO {APP_ROLE}",
        "ALTER TABLE certificates ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE certificates FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON certificates USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        f"CREATE POLICY national_rollup_read ON certificates FOR SELECT TO {ROLLUP_ROLE} USING (true)",
        f"GRANT SELECT ON certificates TO {ROLLUP_ROLE}",
    ):
        op.execute(statement)
    # Stars are derived from certificates from now on. A stored star has no decision number or date,
    # so no certificate can be made from it honestly: the column goes, and those stars with it (an
    # import with decision columns, or an officer's entry, records them as certificates).
    op.drop_column("products", "current_stars")


def downgrade():
    op.add_column("products", sa.Column("current_stars", sa.Integer(), nullable=True))
    # Back to a stored star: the stars of each product's certificate valid today.
    op.execute(
        "UPDATE products p SET current_stars = c.stars FROM certificates c"
        " WHERE c.tenant_id = p.tenant_id AND c.product_id = p.id"
        " AND c.valid_from <= current_date AND c.valid_to >= current_date"
        " AND (c.revoked_on IS NULL OR c.revoked_on > current_date)"
        " AND (c.superseded_on IS NULL OR c.superseded_on > current_date)"
    )
    op.drop_table("certificates")
