"""A commune officer sees only its own commune's applications: lists, counts and one application (another
commune's answers 404 like a missing id); province officers see them all."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from app.auth.models import User
from app.cycle import services as cycle
from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import AdminUnit
from tests.conftest import login
from tests.factories import application_at, producer_with_product, user_of_role


@pytest.fixture()
def two_communes(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    with app.app_context(), tenant_scope(tenant_id):
        units = [AdminUnit(code=code, name=name, kind="commune") for code, name in (("1", "Xã Một"), ("2", "Xã Hai"))]
        db.session.add_all(units)
        db.session.commit()
        unit_ids = [u.id for u in units]
    apps = {}
    for key, unit_id in zip(("own", "other"), unit_ids, strict=True):
        _producer_id, product_id = producer_with_product(app, tenant_id, set_code="I.1.1", unit_id=unit_id)
        apps[key] = application_at(app, tenant_id, "idea_submitted", product_id=product_id, producer_id=_producer_id)
    # Two statuses in the other commune, so the counts differ.
    _producer_id, product_id = producer_with_product(app, tenant_id, set_code="I.1.1", unit_id=unit_ids[1])
    application_at(app, tenant_id, "preparing_plan", product_id=product_id, producer_id=_producer_id)
    officer_id, email = user_of_role(app, tenant_id, "commune_officer", unit_id=unit_ids[0])
    province_id, _e = user_of_role(app, tenant_id, "province_officer")
    return {
        "tenant": tenant_id,
        "slug": slug,
        "apps": apps,
        "officer": officer_id,
        "email": email,
        "province": province_id,
    }


def _user(user_id) -> User:
    return db.session.scalar(select(User).where(User.id == user_id))


def test_commune_officer_lists_counts_and_opens_only_its_communes_applications(app, two_communes):
    data = two_communes
    own, other = data["apps"]["own"], data["apps"]["other"]
    with app.app_context(), tenant_scope(data["tenant"]):
        officer, province = _user(data["officer"]), _user(data["province"])
        rows = cycle.applications_for(officer, cycle_id=own.cycle_id)
        assert [a.id for a, _p, _pr in rows] == [own.application_id]
        # A filter naming the other commune cannot widen it.
        other_unit = db.session.scalar(select(AdminUnit.id).where(AdminUnit.code == "2"))
        assert cycle.applications_for(officer, cycle_id=own.cycle_id, unit_id=other_unit) == []
        assert cycle.status_counts_for(officer, own.cycle_id) == {"idea_submitted": 1}
        assert cycle.status_counts_for(province, own.cycle_id) == {"idea_submitted": 2, "preparing_plan": 1}
        assert len(cycle.applications_for(province, cycle_id=own.cycle_id)) == 3
        assert cycle.application_get(officer, own.application_id).id == own.application_id
        with pytest.raises(NotFound):
            cycle.application_get(officer, other.application_id)
        assert cycle.application_get(province, other.application_id).id == other.application_id

    client = app.test_client()
    assert login(client, f"/{data['slug']}/login", data["email"]).status_code == 302
    assert client.get(f"/{data['slug']}/applications/{own.application_id}").status_code == 200
    assert client.get(f"/{data['slug']}/applications/{other.application_id}").status_code == 404
    listing = client.get(f"/{data['slug']}/applications").get_data(as_text=True)
    assert f'/applications/{own.application_id}"' in listing
    assert f'/applications/{other.application_id}"' not in listing
