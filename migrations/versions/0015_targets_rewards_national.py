"""Reward rules on policy lines, entitlements (computed, approved, paid), national roll-ups by breakdown.

Revision ID: 0015
Revises: 0013

Policy lines gain the fields a reward rule needs (star, product group, producer kinds, first/further/any/
upgrade, cap, budget line). `entitlements` holds what a policy grants one certificate and its approval
and payment (a tenant table: composite keys, RLS forced). The national office gets a materialized
roll-up of certificates by tenant, star, group, producer type, area and validity span (counts only, no
product or producer row), refreshed by `national.refresh_rollups()` (SECURITY DEFINER, owned by the
roll-up role, executable by the web role's jobs), and a view of the provinces' targets.
Holds its own SQL.
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
NATIONAL_ROLE = os.environ.get("DB_NATIONAL_ROLE", "ocop_national")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")
TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"

ITEM_COLUMNS = (
    ("stars", sa.Integer()),
    ("product_group", sa.String(length=32)),
    ("producer_kinds", sa.String(length=200)),
    ("applies_to", sa.String(length=16)),
    ("cap_vnd", sa.BigInteger()),
    ("budget_line", sa.String(length=200)),
)

# One row per (province, star, group, producer type, area, decision kind, validity span, first?): counts
# only. The area is the product's district (its producer's unit when it has none), else its commune.
CERTIFICATE_ROLLUP = """
SELECT c.tenant_id, c.stars,
  coalesce(top.code, up.code, node.code, '') AS product_group,
  coalesce(top.name, up.name, node.name, '') AS product_group_name,
  pr.kind AS producer_kind,
  coalesce(CASE WHEN u.kind = 'district' THEN u.name WHEN pu.kind = 'district' THEN pu.name ELSE u.name END, '')
    AS area,
  c.kind AS decision_kind,
  c.decision_date AS recognised_on, c.valid_from, c.valid_until, c.first_recognition,
  count(*) AS certificates
FROM (
  SELECT tenant_id, product_id, stars, kind, decision_date, valid_from,
    LEAST(valid_to, revoked_on - 1, superseded_on - 1) AS valid_until,
    row_number() OVER (PARTITION BY tenant_id, product_id ORDER BY decision_date, id) = 1 AS first_recognition
  FROM public.certificates
) c
JOIN public.tenants t ON t.id = c.tenant_id AND t.is_active
JOIN public.products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id
JOIN public.producers pr ON pr.tenant_id = p.tenant_id AND pr.id = p.producer_id
LEFT JOIN public.admin_units u ON u.tenant_id = p.tenant_id AND u.id = coalesce(p.unit_id, pr.unit_id)
LEFT JOIN public.admin_units pu ON pu.tenant_id = u.tenant_id AND pu.id = u.parent_id
LEFT JOIN public.taxonomy_nodes node ON node.id = p.product_set_id
LEFT JOIN public.taxonomy_nodes up ON up.id = node.parent_id
LEFT JOIN public.taxonomy_nodes top ON top.id = up.parent_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
"""

ROLLUP_KEY = (
    "tenant_id, stars, product_group, product_group_name, producer_kind, area, decision_kind,"
    " recognised_on, valid_from, valid_until, first_recognition"
)

# Names of the active provinces alone (province_overview counts users, units, … for every row it gives).
PROVINCES = """
SELECT t.id AS tenant_id, t.slug, t.name FROM public.tenants t WHERE t.is_active
"""

TARGET_LIST = """
SELECT g.tenant_id, g.code, g.title, g.metric, g.comparator, g.value, g.unit, g.period_start, g.deadline,
  g.baseline_value, g.baseline_on
FROM public.targets g
JOIN public.tenants t ON t.id = g.tenant_id AND t.is_active
"""

REFRESH = """
CREATE OR REPLACE FUNCTION national.refresh_rollups() RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- Two refreshes at once would queue on the view's lock; the second one then has nothing new to read.
  REFRESH MATERIALIZED VIEW CONCURRENTLY national.certificate_rollup;
  UPDATE national.rollup_state SET refreshed_at = clock_timestamp();
  RETURN clock_timestamp();
END $$
"""


def upgrade():
    for name, type_ in ITEM_COLUMNS:
        op.add_column("policy_items", sa.Column(name, type_, nullable=True))

    op.create_table(
        "entitlements",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), autoincrement=True, nullable=False),
        sa.Column("certificate_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("producer_id", sa.BigInteger(), nullable=False),
        sa.Column("policy_id", sa.BigInteger(), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("budget_year", sa.Integer(), nullable=False),
        sa.Column("budget_line", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.BigInteger(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval_ref", sa.String(length=64), nullable=True),
        sa.Column("paid_by", sa.BigInteger(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_ref", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('computed', 'approved', 'paid', 'rejected')", name=op.f("ck_entitlements_status")
        ),
        sa.CheckConstraint("amount_vnd >= 0", name=op.f("ck_entitlements_amount")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_entitlements_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        *(
            sa.ForeignKeyConstraint(
                ["tenant_id", column],
                [f"{remote}.tenant_id", f"{remote}.id"],
                name=op.f(f"fk_entitlements_tenant_id_{column}_{remote}"),
            )
            for column, remote in (
                ("certificate_id", "certificates"),
                ("product_id", "products"),
                ("producer_id", "producers"),
                ("policy_id", "policies"),
            )
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_entitlements")),
        sa.UniqueConstraint(
            "tenant_id",
            "certificate_id",
            "policy_id",
            name=op.f("uq_entitlements_tenant_id_certificate_id_policy_id"),
        ),
    )
    for statement in (
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON entitlements TO {APP_ROLE}",
        "ALTER TABLE entitlements ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE entitlements FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON entitlements USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})",
        f"CREATE POLICY national_rollup_read ON entitlements FOR SELECT TO {ROLLUP_ROLE} USING (true)",
        f"GRANT SELECT ON entitlements TO {ROLLUP_ROLE}",
    ):
        op.execute(statement)

    op.execute(f"SET LOCAL ROLE {ROLLUP_ROLE}")
    op.execute(f"CREATE MATERIALIZED VIEW national.certificate_rollup AS {CERTIFICATE_ROLLUP}")
    # CONCURRENTLY needs a unique index over every row: the grouping key is one.
    op.execute(f"CREATE UNIQUE INDEX ux_certificate_rollup ON national.certificate_rollup ({ROLLUP_KEY})")
    op.execute(f"GRANT SELECT ON national.certificate_rollup TO {NATIONAL_ROLE}")
    op.execute("CREATE TABLE national.rollup_state (refreshed_at timestamptz NOT NULL)")
    op.execute("INSERT INTO national.rollup_state VALUES (now())")
    op.execute(f"GRANT SELECT ON national.rollup_state TO {NATIONAL_ROLE}")
    op.execute(f"CREATE OR REPLACE VIEW national.provinces AS {PROVINCES}")
    op.execute(f"GRANT SELECT ON national.provinces TO {NATIONAL_ROLE}")
    op.execute(f"CREATE OR REPLACE VIEW national.target_list AS {TARGET_LIST}")
    op.execute(f"GRANT SELECT ON national.target_list TO {NATIONAL_ROLE}")
    op.execute(REFRESH)
    op.execute("REVOKE ALL ON FUNCTION national.refresh_rollups() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION national.refresh_rollups() TO {APP_ROLE}")
    op.execute("RESET ROLE")
    op.execute(f"GRANT USAGE ON SCHEMA national TO {APP_ROLE}")


def downgrade():
    op.execute(f"REVOKE USAGE ON SCHEMA national FROM {APP_ROLE}")
    op.execute(f"SET LOCAL ROLE {ROLLUP_ROLE}")
    op.execute("DROP FUNCTION IF EXISTS national.refresh_rollups()")
    op.execute("DROP VIEW IF EXISTS national.target_list")
    op.execute("DROP VIEW IF EXISTS national.provinces")
    op.execute("DROP TABLE IF EXISTS national.rollup_state")
    op.execute("DROP MATERIALIZED VIEW IF EXISTS national.certificate_rollup")
    op.execute("RESET ROLE")
    op.drop_table("entitlements")
    for name, _type in reversed(ITEM_COLUMNS):
        op.drop_column("policy_items", name)
