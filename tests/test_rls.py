"""The database itself isolates tenants: RLS enabled, forced and with a policy on every tenant table,
checked as the app role the web app and workers use."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import create_user

TENANT_TABLES_SQL = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'tenant_isolation')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY c.relname
"""


def _seed_registry_and_cycle(app, tenant_id: int) -> None:
    """A producer, product, application with history and a linked document in the tenant."""
    from app.cycle.models import ApplicationDocument
    from app.extensions import db
    from tenants.context import tenant_scope
    from tests.factories import DocumentFactory, RegistryImportFactory, application_at

    base = application_at(app, tenant_id, "idea_submitted")
    with app.app_context(), tenant_scope(tenant_id):
        document = DocumentFactory(producer_id=base.producer_id, requirement="product_story")
        db.session.add(
            ApplicationDocument(
                application_id=base.application_id, requirement="product_story", document_id=document.id
            )
        )
        RegistryImportFactory()
        db.session.commit()
    _seed_evaluation(app, tenant_id, base)
    _seed_notices(app, tenant_id)


def _seed_notices(app, tenant_id: int) -> None:
    """A notice to an address and the province's reminder days."""
    from app.extensions import db
    from app.notices.services import notice_create, notice_settings_save
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        notice_create("certificate_expiry", "rls:seed", "90d", emails=["rls@example.vn"])
        notice_settings_save([90, 60, 30])
        db.session.commit()


def _seed_evaluation(app, tenant_id: int, base) -> None:
    """A council member, round, round product, conflict, score sheet, review request, criteria table, certificate."""
    from datetime import date

    from sqlalchemy import select

    from app.evaluation.models import (
        ConflictDeclaration,
        CouncilMember,
        CouncilRound,
        CriteriaTemplate,
        ReviewRequest,
        RoundProduct,
        ScoreSheet,
    )
    from app.extensions import db
    from app.registry.models import Product
    from tenants.context import tenant_scope
    from tests.factories import certificate_recorded, council_with_members, inspection_with_records

    council_id, [(user_id, _email)] = council_with_members(app, tenant_id, ("member",))
    certificate_id = certificate_recorded(app, tenant_id, base.product_id)
    _seed_entitlement(app, tenant_id, base, certificate_id)
    inspection_with_records(app, tenant_id, certificate_id, user_id)
    with app.app_context(), tenant_scope(tenant_id):
        member = db.session.scalar(select(CouncilMember).where(CouncilMember.council_id == council_id))
        council_round = CouncilRound(
            council_id=council_id, name="Đợt", meeting_on=date.today(), act="1489/QĐ-TTg", status="open"
        )
        db.session.add(council_round)
        db.session.flush()
        product = db.session.scalar(select(Product).where(Product.id == base.product_id))
        item = RoundProduct(round_id=council_round.id, application_id=base.application_id, product_id=product.id)
        db.session.add(item)
        db.session.flush()
        db.session.add_all(
            [
                ConflictDeclaration(
                    round_product_id=item.id, member_id=member.id, conflicted=False, reason="", flags=[]
                ),
                ScoreSheet(round_product_id=item.id, member_id=member.id, attempt=1, points={}, total=0),
                ReviewRequest(round_product_id=item.id, requested_by=user_id, reason="x"),
                CriteriaTemplate(act="1489/QĐ-TTg", product_group=f"RLS{tenant_id}", name="x", criteria=[]),
            ]
        )
        db.session.commit()


def _seed_entitlement(app, tenant_id: int, base, certificate_id: int) -> None:
    """A reward of the certificate under the province's first policy (no new policy row in a file's province)."""
    from sqlalchemy import func, select
    from sqlalchemy.dialects.postgresql import insert

    from app.extensions import db
    from app.planning.models import Policy
    from app.progress.models import Entitlement
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        policy_id = db.session.scalar(select(func.min(Policy.id)))
        db.session.execute(
            insert(Entitlement)
            .values(
                tenant_id=tenant_id,
                certificate_id=certificate_id,
                product_id=base.product_id,
                producer_id=base.producer_id,
                policy_id=policy_id,
                rule="any",
                stars=3,
                amount_vnd=1,
                budget_year=2026,
                status="computed",
            )
            .on_conflict_do_nothing()
        )
        db.session.commit()


@pytest.fixture(scope="module")
def tenant_tables(database_urls, app, tenants):
    # Every tenant table holds rows of at least two tenants, so "reads 0 rows" below means something.
    for slug in ("bac-giang", "ha-tinh"):
        create_user(app, tenants[slug])
        _seed_registry_and_cycle(app, tenants[slug])
    with psycopg.connect(database_urls["DATABASE_URL"]) as conn:
        return conn.execute(TENANT_TABLES_SQL).fetchall()


def app_conn(database_urls, tenant_id: int | None = None) -> psycopg.Connection:
    conn = psycopg.connect(database_urls["DATABASE_URL"])
    if tenant_id is not None:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
    return conn


def test_every_tenant_table_has_forced_rls_and_policy(tenant_tables):
    names = [row[0] for row in tenant_tables]
    assert {"users", "audit_log", "admin_units", "councils", "policies", "policy_items", "targets"} <= set(names)
    for name, enabled, forced, policies in tenant_tables:
        assert enabled, f"{name}: RLS not enabled"
        assert forced, f"{name}: RLS not forced"
        assert policies == 1, f"{name}: no tenant_isolation policy"


def test_app_role_is_not_owner_superuser_or_bypassrls(database_urls):
    with app_conn(database_urls) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False, False)
        owned = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        ).fetchone()[0]
        assert owned == 0


def test_without_tenant_every_tenant_table_reads_nothing(database_urls, tenants, tenant_tables):
    with app_conn(database_urls) as conn:
        for name, *_ in tenant_tables:
            assert conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 0, name
    # ...while each table does hold rows of both tenants.
    for slug in ("bac-giang", "ha-tinh"):
        with app_conn(database_urls, tenants[slug]) as conn:
            for name, *_ in tenant_tables:
                if name in ("budgets",) and slug == "ha-tinh":
                    continue  # Hà Tĩnh declares no yearly budgets
                assert conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] > 0, (slug, name)


def test_without_tenant_inserts_are_rejected(database_urls, tenants):
    with (
        app_conn(database_urls) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"),
    ):
        conn.execute(
            "INSERT INTO councils (tenant_id, code, name, level, quorum_ratio, max_score_spread,"
            " dossier_lead_working_days) VALUES (%s, 'x', 'x', 'province', 0.75, 10, 2)",
            [tenants["bac-giang"]],
        )


def test_write_into_another_tenant_is_rejected(database_urls, tenants):
    bac_giang, ha_tinh = tenants["bac-giang"], tenants["ha-tinh"]
    with app_conn(database_urls, bac_giang) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "INSERT INTO councils (tenant_id, code, name, level, quorum_ratio, max_score_spread,"
            " dossier_lead_working_days) VALUES (%s, 'x', 'x', 'province', 0.75, 10, 2)",
            [ha_tinh],
        )
    with app_conn(database_urls, bac_giang) as conn:
        # Another tenant's rows are invisible, so they cannot be updated or deleted either.
        assert conn.execute("UPDATE councils SET name = 'hacked' WHERE tenant_id = %s", [ha_tinh]).rowcount == 0
        assert conn.execute("DELETE FROM admin_units WHERE tenant_id = %s", [ha_tinh]).rowcount == 0
        # Moving an own row to another tenant violates WITH CHECK.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE councils SET tenant_id = %s", [ha_tinh])


def test_composite_foreign_key_forbids_cross_tenant_reference(database_urls, tenants):
    bac_giang, ha_tinh = tenants["bac-giang"], tenants["ha-tinh"]
    with app_conn(database_urls, ha_tinh) as conn:
        foreign_unit = conn.execute("SELECT id FROM admin_units LIMIT 1").fetchone()[0]
    with app_conn(database_urls, bac_giang) as conn, pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO users (tenant_id, email, full_name, roles, unit_id, active, session_version)"
            " VALUES (%s, 'fk@example.vn', 'x', '{}', %s, true, 1)",
            [bac_giang, foreign_unit],
        )


def test_tenant_setting_is_per_transaction(database_urls, tenants):
    """set_config(..., true) ends with the transaction: a pooled connection cannot leak it."""
    with app_conn(database_urls, tenants["bac-giang"]) as conn:
        assert conn.execute("SELECT count(*) FROM councils").fetchone()[0] > 0
        conn.commit()
        assert conn.execute("SELECT count(*) FROM councils").fetchone()[0] == 0


def test_audit_log_cannot_be_changed_by_the_app(database_urls, tenants):
    with app_conn(database_urls, tenants["bac-giang"]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE audit_log SET actor_label = 'someone else'")
    with app_conn(database_urls, tenants["bac-giang"]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM audit_log")


def test_national_role_reads_aggregates_only(app, database_urls):
    from sqlalchemy import select

    from app.extensions import db
    from tenants.models import Tenant

    with app.app_context():
        active = sorted(db.session.scalars(select(Tenant.slug).where(Tenant.is_active.is_(True))))
    with psycopg.connect(database_urls["NATIONAL_DATABASE_URL"]) as conn:
        rows = conn.execute("SELECT slug, certified_products FROM national.province_overview ORDER BY slug").fetchall()
        assert dict(rows)["bac-giang"] == 205
        assert [slug for slug, _ in rows] == active  # one row per active province, tests' own included
        bypass = conn.execute("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        assert bypass == (False, False)
    for table in ("users", "councils", "tenants"):
        with (
            psycopg.connect(database_urls["NATIONAL_DATABASE_URL"]) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute(f"SELECT count(*) FROM public.{table}")
