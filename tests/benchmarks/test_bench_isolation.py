"""What tenant isolation costs per request and per query (`make bench`).

Figures to watch: a signed-in tenant page (session in Redis, tenant resolution, set_config per
transaction, ORM criteria, RLS) and the same ORM query with and without the tenant guard.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from tenants.context import system_scope, tenant_scope
from tenants.models import AdminUnit


def test_signed_in_tenant_page(benchmark, officer_login):
    client, _uid, _email = officer_login("bac-giang")
    response = benchmark(client.get, "/bac-giang/units")
    assert response.status_code == 200


def test_dashboard(benchmark, officer_login):
    client, _uid, _email = officer_login("ha-tinh")
    response = benchmark(client.get, "/ha-tinh/")
    assert response.status_code == 200


def test_orm_query_with_tenant_criteria(benchmark, app, tenants):
    with app.app_context(), tenant_scope(tenants["bac-giang"]):

        def query():
            rows = db.session.scalars(select(AdminUnit)).all()
            db.session.commit()
            return rows

        assert len(benchmark(query)) > 0


def test_orm_query_without_tenant_guard(benchmark, app, tenants):
    """Baseline: the same query with the ORM guard off (RLS then returns nothing)."""
    with app.app_context(), system_scope():

        def query():
            rows = db.session.scalars(select(AdminUnit)).all()
            db.session.commit()
            return rows

        assert benchmark(query) == []
