"""The ORM layer: tenant criteria on every select, refusal without a tenant, stamped and checked writes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from tenants.context import CrossTenantWrite, TenantNotSet, system_scope, tenant_scope
from tenants.models import AdminUnit, Council, Tenant
from tests.conftest import ROOT, create_user


def test_tenant_scoped_query_without_tenant_is_refused(app):
    with app.app_context():
        with pytest.raises(TenantNotSet):
            db.session.scalars(select(Council)).all()
        with pytest.raises(TenantNotSet):
            db.session.scalar(select(func.count()).select_from(AdminUnit))
        # Global tables need no tenant: the four synced provinces are all there.
        synced = sorted(path.stem for path in (ROOT / "tenants" / "provinces").glob("*.toml"))
        assert sorted(db.session.scalars(select(Tenant.slug).where(Tenant.slug.in_(synced)))) == synced
        assert len(synced) == 4


def test_system_scope_opts_out_of_the_guard_but_rls_still_applies(app):
    with app.app_context(), system_scope():
        assert db.session.scalars(select(Council)).all() == []


def test_queries_see_only_the_current_tenant(app, tenants):
    bac_giang, ha_tinh = tenants["bac-giang"], tenants["ha-tinh"]
    create_user(app, bac_giang)
    create_user(app, ha_tinh)
    with app.app_context():
        for tenant_id in (bac_giang, ha_tinh):
            with tenant_scope(tenant_id):
                owners = set(db.session.scalars(select(User.tenant_id)))
                assert owners == {tenant_id}
                # Even an explicit filter on another tenant finds nothing.
                other = ha_tinh if tenant_id == bac_giang else bac_giang
                assert db.session.scalars(select(Council).where(Council.tenant_id == other)).all() == []


def test_new_rows_are_stamped_with_the_current_tenant(app, tenants):
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        council = Council(
            code="stamp-test",
            name="Hội đồng thử",
            level="province",
            quorum_ratio=0.75,
            max_score_spread=10,
            dossier_lead_working_days=2,
        )
        db.session.add(council)
        db.session.flush()
        assert council.tenant_id == tenants["nam-dinh"]
        db.session.rollback()


def test_writing_another_tenants_row_is_refused(app, tenants):
    with app.app_context():
        with tenant_scope(tenants["bac-giang"]):
            db.session.add(
                Council(
                    tenant_id=tenants["ha-tinh"],
                    code="x",
                    name="x",
                    level="province",
                    quorum_ratio=0.75,
                    max_score_spread=10,
                    dossier_lead_working_days=2,
                )
            )
            with pytest.raises(CrossTenantWrite):
                db.session.flush()
            db.session.rollback()
        with tenant_scope(tenants["bac-giang"]):
            council = db.session.scalars(select(Council)).first()
        # Loaded in Bắc Giang, changed while Hà Tĩnh is current: refused before reaching the database.
        with tenant_scope(tenants["ha-tinh"]):
            council.name = "changed elsewhere"
            with pytest.raises(CrossTenantWrite):
                db.session.flush()
            db.session.rollback()


def test_insert_without_tenant_is_refused(app):
    with app.app_context():
        db.session.add(
            Council(
                code="x",
                name="x",
                level="province",
                quorum_ratio=0.75,
                max_score_spread=10,
                dossier_lead_working_days=2,
            )
        )
        with pytest.raises(TenantNotSet):
            db.session.flush()
        db.session.rollback()


def test_alternating_requests_on_one_pooled_connection_never_mix_tenants(app_env, tenants, officer_login):
    """500 requests alternating between two provinces through a pool of exactly one connection."""
    from tests.conftest import create_user, login, make_app

    single = make_app(app_env, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    clients = {}
    for slug in ("bac-giang", "ha-tinh"):
        _uid, email = create_user(single, tenants[slug])
        clients[slug] = single.test_client()
        assert login(clients[slug], f"/{slug}/login", email).status_code == 302
    # A district only the one province has: Lục Ngạn is in Bắc Giang, Hương Khê in Hà Tĩnh.
    marker = {"bac-giang": "Lục Ngạn", "ha-tinh": "Hương Khê"}
    for i in range(500):
        slug = ("bac-giang", "ha-tinh")[i % 2]
        other = "ha-tinh" if slug == "bac-giang" else "bac-giang"
        page = clients[slug].get(f"/{slug}/units").get_data(as_text=True)
        assert marker[slug] in page, (i, slug)
        assert marker[other] not in page, (i, slug)
    with single.app_context():
        assert db.engine.pool.size() == 1
