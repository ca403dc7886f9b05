"""Issue 12, item 6: connected as each database role, try what the role must not do."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from tests.factories import producer_with_product


def _connect(url: str):
    return psycopg.connect(url, autocommit=False)


def _foreign_rows(conn, tenant_id: int, table: str = "producers") -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        cur.execute(f"SELECT count(*) FROM {table} WHERE tenant_id <> %s", [tenant_id])
        return cur.fetchone()[0]


def test_the_owner_reads_no_other_provinces_rows(app_env, app, tenants):
    producer_with_product(app, tenants["ha-tinh"])  # a foreign row exists
    with _connect(app_env["MIGRATION_DATABASE_URL"]) as owner:
        for table in ("producers", "products", "documents", "certificates", "users"):
            assert _foreign_rows(owner, tenants["bac-giang"], table) == 0, table
        owner.rollback()
        with owner.cursor() as cur:  # not even as the roll-up role it may switch to (to create views)
            cur.execute("SET LOCAL ROLE ocop_rollup")
            cur.execute("SELECT count(*) FROM producers")
            assert cur.fetchone()[0] == 0
        owner.rollback()


def test_the_national_role_still_reads_every_province_through_its_views(app_env, app, tenants):
    producer_with_product(app, tenants["ha-tinh"])
    with _connect(app_env["NATIONAL_DATABASE_URL"]) as national, national.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'national' ORDER BY table_name"
        )
        views = [row[0] for row in cur.fetchall()]
        assert views
        cur.execute(f"SELECT count(*) FROM national.{views[0]}")
        assert cur.fetchone()[0] >= 0
    with _connect(app_env["DATABASE_URL"]) as web, web.cursor() as cur:
        cur.execute("SELECT count(*) FROM producers")  # no tenant set: nothing
        assert cur.fetchone()[0] == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE accounts SET role = 'platform_admin'",
        "UPDATE accounts SET email = 'attacker@example.vn' WHERE id = (SELECT min(id) FROM accounts)",
    ],
)
def test_the_web_role_cannot_change_an_accounts_role_or_email(app_env, statement):
    with _connect(app_env["DATABASE_URL"]) as web, web.cursor() as cur:
        with pytest.raises(errors.InsufficientPrivilege):
            cur.execute(statement)


def test_the_web_role_updates_only_its_own_tenant_row(app_env, tenants):
    bac_giang, ha_tinh = tenants["bac-giang"], tenants["ha-tinh"]
    with _connect(app_env["DATABASE_URL"]) as web, web.cursor() as cur:
        cur.execute("SELECT set_config('app.tenant_id', %s, true)", [str(bac_giang)])
        cur.execute("UPDATE tenants SET storage_quota_bytes = 1 WHERE id = %s", [ha_tinh])
        assert cur.rowcount == 0  # another province's row is out of reach
        cur.execute("UPDATE tenants SET is_active = false")
        assert cur.rowcount == 1  # its own, and only its own
        web.rollback()
        cur.execute("UPDATE tenants SET is_active = false")  # no tenant: none
        assert cur.rowcount == 0
        cur.execute("SELECT count(*) FROM tenants")  # everyone still reads the list of provinces
        assert cur.fetchone()[0] >= len(tenants)
        web.rollback()
