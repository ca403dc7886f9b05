"""Public verification of a certificate by its code, across provinces, without widening the web role.

Revision ID: 0008
Revises: 0007

The QR on a package carries only `certificates.public_code` (0007), so the public page must find the
certificate in any province. The web role keeps RLS (no BYPASSRLS): it may only EXECUTE
`verify.certificate_public(code)`, a SECURITY DEFINER function owned by the roll-up role (which reads
tenant tables through its read-only policy) that returns the public fields of exactly one certificate.
Holds its own SQL.
"""

import os

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")

FUNCTION = """
CREATE OR REPLACE FUNCTION verify.certificate_public(code text)
RETURNS TABLE (
  code text, product_name text, producer_name text, province_name text, province_name_en text,
  stars integer, decision_number text, decision_date date, authority text,
  valid_from date, valid_to date, revoked_on date, revoke_decision_number text, superseded_on date,
  successor_code text, successor_stars integer, successor_decision_number text, successor_decision_date date
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT c.public_code::text, p.name::text, pr.name::text, t.name::text, t.name_en::text,
         c.stars, c.decision_number::text, c.decision_date, c.authority::text,
         c.valid_from, c.valid_to, c.revoked_on, c.revoke_decision_number::text, c.superseded_on,
         s.public_code::text, s.stars, s.decision_number::text, s.decision_date
  FROM public.certificates c
  JOIN public.tenants t ON t.id = c.tenant_id AND t.is_active
  JOIN public.products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id
  JOIN public.producers pr ON pr.tenant_id = p.tenant_id AND pr.id = p.producer_id
  LEFT JOIN public.certificates s ON s.tenant_id = c.tenant_id AND s.id = c.superseded_by_id
  WHERE c.public_code = certificate_public.code
  LIMIT 1
$$
"""


def upgrade():
    op.execute(f"CREATE SCHEMA IF NOT EXISTS verify AUTHORIZATION {ROLLUP_ROLE}")
    op.execute("REVOKE ALL ON SCHEMA verify FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA verify TO {APP_ROLE}")
    op.execute(f"SET LOCAL ROLE {ROLLUP_ROLE}")
    op.execute(FUNCTION)
    # Functions are executable by PUBLIC by default: only the web role may call this one.
    op.execute("REVOKE ALL ON FUNCTION verify.certificate_public(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION verify.certificate_public(text) TO {APP_ROLE}")
    op.execute("RESET ROLE")


def downgrade():
    op.execute("DROP SCHEMA IF EXISTS verify CASCADE")
