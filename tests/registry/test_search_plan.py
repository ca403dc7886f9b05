"""Search is served by the trigram indexes, for the web role under RLS, on a large province.

The plan of the statements *inside* the search functions is read with auto_explain (its NOTICE goes to
this client), running as the web role with ANALYZE'd statistics of 20,000 products: no planner switch.
"""

from __future__ import annotations

import psycopg
import psycopg.conninfo
import pytest

from tests.conftest import TEST_DB
from tests.factories import bulk_products


@pytest.fixture(scope="module")
def admin_url(services):
    """The superuser on the test database (auto_explain is loaded by a superuser)."""
    return psycopg.conninfo.make_conninfo(services["ADMIN_DATABASE_URL"], dbname=TEST_DB)


@pytest.fixture(scope="module")
def large_province(app):
    from tests.factories import new_tenant

    tenant_id, _slug = new_tenant(app)
    bulk_products(app, tenant_id, producers=5000, per_producer=4)
    return tenant_id


def _plans(admin_url: str, tenant_id: int, sql: str, params) -> tuple[list, str]:
    """(rows, the plans auto_explain reported) of `sql` run as the web role in the tenant."""
    notices: list[str] = []
    with psycopg.connect(admin_url) as conn:
        conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")  # superuser only: the admin connection loads it, then drops to the web role
        conn.execute("SET auto_explain.log_min_duration = 0")
        conn.execute("SET auto_explain.log_nested_statements = on")
        conn.execute("SET auto_explain.log_level = notice")
        conn.execute("SET ROLE ocop_app")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        rows = conn.execute(sql, params).fetchall()
    # The search statement inside the function (the outer query joins its few ids back by key).
    return rows, "\n".join(n for n in notices if "ILIKE public.f_unaccent" in n)


def test_product_search_uses_the_trigram_index(admin_url, large_province):
    with psycopg.connect(admin_url) as conn:
        conn.execute("SET ROLE ocop_app")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(large_province),))
        name = conn.execute("SELECT name FROM products ORDER BY id DESC LIMIT 1").fetchone()[0]
    tag = name.rsplit(" ", 1)[1]
    rows, plans = _plans(
        admin_url,
        large_province,
        "SELECT id FROM products WHERE id IN (SELECT id FROM search.product_ids(%s) AS id)",
        (f"%{tag.upper()}%",),
    )
    assert len(rows) == 1
    assert "Bitmap Index Scan on ix_products_name_search" in plans
    assert "Bitmap Index Scan on ix_producers_name_search" in plans
    assert "Seq Scan on products" not in plans


def test_producer_search_uses_the_trigram_indexes(admin_url, large_province):
    rows, plans = _plans(
        admin_url,
        large_province,
        "SELECT id FROM producers WHERE id IN (SELECT id FROM search.producer_ids(%s) AS id)",
        ("%nguyen van 4999%",),
    )
    assert len(rows) == 1
    assert "ix_producers_name_search" in plans
    assert "ix_producers_representative_search" in plans
    assert "Seq Scan on producers" not in plans


def test_a_plain_ilike_under_rls_reads_the_whole_table(admin_url, large_province):
    """Why the search functions exist: ILIKE is not leakproof, so under RLS it is no index condition."""
    with psycopg.connect(admin_url) as conn:
        conn.execute("SET ROLE ocop_app")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(large_province),))
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT id FROM products WHERE f_unaccent(name) ILIKE f_unaccent(%s)", ("%abc%",)
            )
        )
    assert "ix_products_name_search" not in plan


def test_search_functions_see_only_the_current_tenant(admin_url, large_province, tenants):
    with psycopg.connect(admin_url) as conn:
        conn.execute("SET ROLE ocop_app")
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenants["bac-kan"]),))
        assert conn.execute("SELECT count(*) FROM search.product_ids('%%Vải thiều sấy%%')").fetchone()[0] == 0
        conn.execute("SELECT set_config('app.tenant_id', '', true)")
        assert conn.execute("SELECT count(*) FROM search.producer_ids('%%')").fetchone()[0] == 0
