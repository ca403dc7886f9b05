"""RLS evaluates the tenant setting once per statement; search runs on the trigram indexes.

Revision ID: 0016
Revises: 0015

1. Every `tenant_isolation` policy becomes `tenant_id = (SELECT NULLIF(current_setting(…), '')::bigint)`:
   the sub-select is an InitPlan, computed once per statement instead of once per row.
2. Search. The web role is under RLS, and PostgreSQL only lets a *leakproof* operator run before the
   policy's condition; ILIKE is not leakproof, so `f_unaccent(name) ILIKE …` is never an index
   condition for the web role and every search read the whole table (seen with EXPLAIN). Two
   SECURITY DEFINER functions owned by the roll-up role (read-only policy, no RLS in the way) return
   the ids matching a pattern *in the current tenant only* (they read `app.tenant_id` themselves, as
   the policy does); the app joins those ids back under RLS. Trigram indexes are added on the other
   searched producer columns.
3. Indexes on the lists' order (tenant_id, name, id) of products and producers. Holds its own SQL.
"""

import os

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

APP_ROLE = os.environ.get("DB_APP_ROLE", "ocop_app")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")
# The search functions' own role: its one right is reading products and producers through a SELECT policy
# without condition (so no security barrier keeps the planner off the trigram indexes). The owner is its
# member only while this migration creates them, so the owner's sessions never read through it.
SEARCH_ROLE = os.environ.get("DB_SEARCH_ROLE", "ocop_search")
SEARCHED = ("products", "producers")

OLD_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
NEW_PREDICATE = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint)"

# Every policy named tenant_isolation in public, whatever table it is on.
REWRITE = """
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'tenant_isolation' LOOP
    EXECUTE format('ALTER POLICY tenant_isolation ON public.%I USING (%(p)s) WITH CHECK (%(p)s)', t);
  END LOOP;
END
$$
"""

# Inside the quoted EXECUTE string below, hence the doubled quotes.
TENANT = "NULLIF(current_setting(''app.tenant_id'', true), '''')::bigint"

# EXECUTE … USING plans each call with the pattern known, so the planner sees how selective it is.
PRODUCT_IDS = f"""
CREATE FUNCTION search.product_ids(pattern text) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN QUERY EXECUTE
    'SELECT p.id FROM public.products p
      WHERE p.tenant_id = {TENANT} AND public.f_unaccent(p.name) ILIKE public.f_unaccent($1)
     UNION
     SELECT p.id FROM public.producers r
       JOIN public.products p ON p.tenant_id = r.tenant_id AND p.producer_id = r.id
      WHERE r.tenant_id = {TENANT} AND public.f_unaccent(r.name) ILIKE public.f_unaccent($1)'
    USING pattern;
END
$$
"""

PRODUCER_IDS = f"""
CREATE FUNCTION search.producer_ids(pattern text) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN QUERY EXECUTE
    'SELECT r.id FROM public.producers r
      WHERE r.tenant_id = {TENANT}
        AND (public.f_unaccent(r.name) ILIKE public.f_unaccent($1)
             OR public.f_unaccent(r.representative) ILIKE public.f_unaccent($1)
             OR public.f_unaccent(r.registration_no) ILIKE public.f_unaccent($1))'
    USING pattern;
END
$$
"""

INDEXES = {
    # The lists' order (name, id) within a tenant: page 1 and a deep page read index entries, no sort.
    "ix_products_tenant_id_name_id": "products (tenant_id, name, id)",
    "ix_producers_tenant_id_name_id": "producers (tenant_id, name, id)",
    "ix_producers_representative_search": "producers USING gin (f_unaccent(representative) gin_trgm_ops)",
    "ix_producers_registration_no_search": "producers USING gin (f_unaccent(registration_no) gin_trgm_ops)",
}


def upgrade():
    op.execute(REWRITE.replace("%(p)s", NEW_PREDICATE.replace("'", "''")))
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {definition}")
    # unaccent() per row is what a sequential scan pays (≈6 µs a row measured, not the default 100
    # units); priced right, the planner takes the trigram index even on a few thousand producers.
    op.execute("ALTER FUNCTION public.f_unaccent(text) COST 1000")
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SEARCH_ROLE}') "
        f"THEN CREATE ROLE {SEARCH_ROLE} NOLOGIN; END IF; END $$"
    )
    op.execute(f"GRANT {SEARCH_ROLE} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {SEARCH_ROLE}")
    for table in SEARCHED:
        op.execute(f"GRANT SELECT ON {table} TO {SEARCH_ROLE}")
        op.execute(f"CREATE POLICY search_read ON {table} FOR SELECT TO {SEARCH_ROLE} USING (true)")
    op.execute(f"CREATE SCHEMA search AUTHORIZATION {SEARCH_ROLE}")
    op.execute("REVOKE ALL ON SCHEMA search FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA search TO {APP_ROLE}")
    op.execute(f"SET LOCAL ROLE {SEARCH_ROLE}")
    for definition, signature in ((PRODUCT_IDS, "product_ids(text)"), (PRODUCER_IDS, "producer_ids(text)")):
        op.execute(definition)
        # Functions are executable by PUBLIC by default: only the web role may call these.
        op.execute(f"REVOKE ALL ON FUNCTION search.{signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION search.{signature} TO {APP_ROLE}")
    op.execute("RESET ROLE")
    op.execute(f"REVOKE {SEARCH_ROLE} FROM CURRENT_USER")


def downgrade():
    op.execute(f"GRANT {SEARCH_ROLE} TO CURRENT_USER")
    op.execute("DROP SCHEMA IF EXISTS search CASCADE")
    for table in SEARCHED:
        op.execute(f"DROP POLICY IF EXISTS search_read ON {table}")
        op.execute(f"REVOKE SELECT ON {table} FROM {SEARCH_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {SEARCH_ROLE}")
    op.execute(f"REVOKE {SEARCH_ROLE} FROM CURRENT_USER")
    op.execute("ALTER FUNCTION public.f_unaccent(text) COST 100")
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(REWRITE.replace("%(p)s", OLD_PREDICATE.replace("'", "''")))
