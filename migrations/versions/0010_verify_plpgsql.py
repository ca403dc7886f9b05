"""The public verification function in PL/pgSQL, so its plan is cached per connection.

Revision ID: 0010
Revises: 0009

0008's `verify.certificate_public(code)` is a SQL function; SECURITY DEFINER and its SET search_path keep
PostgreSQL from inlining it, and before PostgreSQL 18 a non-inlined SQL function plans its query on every
call: about 2.5 ms of the page's time, against 0.3 ms for the same query in PL/pgSQL, which keeps the plan
for the session (measured with `make bench`, tests/benchmarks/test_bench_verify.py). Same rows, owner,
grants and name; the argument is renamed (PL/pgSQL would confuse it with the `code` column it returns),
which needs a drop: callers pass it by position.
"""

import os

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")

RETURNS = """
RETURNS TABLE (
  code text, product_name text, producer_name text, province_name text, province_name_en text,
  stars integer, decision_number text, decision_date date, authority text,
  valid_from date, valid_to date, revoked_on date, revoke_decision_number text, superseded_on date,
  successor_code text, successor_stars integer, successor_decision_number text, successor_decision_date date
)
"""

SELECT = """
  SELECT c.public_code::text, p.name::text, pr.name::text, t.name::text, t.name_en::text,
         c.stars, c.decision_number::text, c.decision_date, c.authority::text,
         c.valid_from, c.valid_to, c.revoked_on, c.revoke_decision_number::text, c.superseded_on,
         s.public_code::text, s.stars, s.decision_number::text, s.decision_date
  FROM public.certificates c
  JOIN public.tenants t ON t.id = c.tenant_id AND t.is_active
  JOIN public.products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id
  JOIN public.producers pr ON pr.tenant_id = p.tenant_id AND pr.id = p.producer_id
  LEFT JOIN public.certificates s ON s.tenant_id = c.tenant_id AND s.id = c.superseded_by_id
"""

PLPGSQL = f"""
CREATE FUNCTION verify.certificate_public(wanted text)
{RETURNS}
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
{SELECT}
  WHERE c.public_code = wanted
  LIMIT 1;
END
$$
"""

SQL_0008 = f"""
CREATE FUNCTION verify.certificate_public(code text)
{RETURNS}
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
{SELECT}
  WHERE c.public_code = certificate_public.code
  LIMIT 1
$$
"""


def _replace(definition: str) -> None:
    op.execute(f"SET LOCAL ROLE {ROLLUP_ROLE}")
    op.execute("DROP FUNCTION verify.certificate_public(text)")
    op.execute(definition)
    # Functions are executable by PUBLIC by default: only the web role may call this one.
    op.execute("REVOKE ALL ON FUNCTION verify.certificate_public(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION verify.certificate_public(text) TO {APP_ROLE}")
    op.execute("RESET ROLE")


def upgrade():
    _replace(PLPGSQL)


def downgrade():
    _replace(SQL_0008)
