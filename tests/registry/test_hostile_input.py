"""Registry filters (shared by the lists and the Excel exports) and forms: ids and numbers beyond the
database's columns and NUL bytes are a message on the form, never a server error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.registry.models import Producer
from tenants.context import tenant_scope
from tests.conftest import csrf_token
from tests.factories import producer_with_product, product_set_id

BIG = str(10**20)


@pytest.mark.parametrize(
    "url",
    [
        f"/bac-giang/products?unit_id={BIG}",
        f"/bac-giang/products?group_id={BIG}",
        f"/bac-giang/products?product_set_id={BIG}",
        f"/bac-giang/products?stars={BIG}",
        f"/bac-giang/producers?unit_id={BIG}",
        f"/bac-giang/products/export.xlsx?unit_id={BIG}",
        f"/bac-giang/producers/export.xlsx?unit_id={BIG}",
        f"/bac-giang/products/export.xlsx?stars={2**63}",
    ],
)
def test_filters_beyond_bigint_are_no_such_value(officer_login, url):
    client, _user_id, _email = officer_login("bac-giang")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "values",
    [
        {"name": "HTX A\x00B"},
        {"capital_vnd": BIG},
        {"workforce": str(2**63)},
        {"members": str(2**31)},
        {"land_area_m2": "1e309"},
        {"land_area_m2": "NaN"},
        {"land_area_m2": "-Infinity"},
        {"unit_id": BIG},
    ],
)
def test_producer_form_refuses_what_the_database_cannot_hold(app, tenants, officer_login, values):
    client, _user_id, _email = officer_login("bac-giang")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        before = db.session.scalar(select(func.count()).select_from(Producer))
    url = "/bac-giang/producers/new"
    data = {"csrf_token": csrf_token(client, url), "name": "HTX Thử số lớn", "kind": "htx", **values}
    response = client.post(url, data=data)
    assert response.status_code == 200, response.status_code
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        assert db.session.scalar(select(func.count()).select_from(Producer)) == before


@pytest.mark.parametrize("values", [{"name": "Mật ong\x00"}, {"annual_output": "1e309"}, {"producer_id": BIG}])
def test_product_form_refuses_what_the_database_cannot_hold(app, tenants, officer_login, values):
    producer_id, _product_id = producer_with_product(app, tenants["bac-giang"], set_code="I.1.1")
    client, _user_id, _email = officer_login("bac-giang")
    url = "/bac-giang/products/new"
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        set_id = product_set_id("I.1.1")
    data = {"csrf_token": csrf_token(client, url), "name": "Mật ong thử", "producer_id": str(producer_id)}
    data |= {"product_set_id": str(set_id), "trademark_status": "none", **values}
    response = client.post(url, data=data)
    assert response.status_code == 200, response.status_code
