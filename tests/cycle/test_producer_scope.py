"""A producer reaches only its own records: at service level (the same NotFound as a missing id) and over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from app.auth.models import User
from app.cycle import services as cycle
from app.cycle.models import Application
from app.documents import services as documents
from app.extensions import db
from app.registry import services as registry
from tenants.context import tenant_scope
from tests.conftest import create_user, csrf_token, login, open_cycle_around_today
from tests.factories import DocumentFactory, producer_with_product

MISSING = 2**62


@pytest.fixture()
def two_producers(app, tenants):
    """Two producers of Bắc Giang, each with a product, an application in this year's cycle and a
    document; a producer user for the first and an officer."""
    tenant_id = tenants["bac-giang"]
    cycle_id = open_cycle_around_today(app, tenant_id)
    ids = {}
    for key in ("own", "other"):
        producer_id, product_id = producer_with_product(app, tenant_id)
        with app.app_context(), tenant_scope(tenant_id):
            application = Application(
                cycle_id=cycle_id, product_id=product_id, kind="new", status="idea_submitted", screening_level="commune"
            )
            db.session.add(application)
            document = DocumentFactory(producer_id=producer_id, product_id=product_id, requirement="product_story")
            db.session.commit()
            ids[key] = {
                "producer": producer_id,
                "product": product_id,
                "application": application.id,
                "document": document.id,
            }
    user_id, email = create_user(app, tenant_id, roles=("producer",), producer_id=ids["own"]["producer"])
    officer_id, _email = create_user(app, tenant_id, roles=("province_officer",))
    return {"tenant": tenant_id, "cycle": cycle_id, "user": user_id, "email": email, "officer": officer_id, **ids}


def _user(user_id) -> User:
    return db.session.scalar(select(User).where(User.id == user_id))


GETTERS = [
    ("application", lambda user, i: cycle.application_get(user, i)),
    ("product", lambda user, i: registry.product_get(user, i)),
    ("producer", lambda user, i: registry.producer_get(user, i)),
    ("document", lambda user, i: documents.document_get(user, i)),
]


@pytest.mark.parametrize("kind,get", GETTERS, ids=[g[0] for g in GETTERS])
def test_service_finds_own_record_and_answers_another_producers_like_a_missing_one(app, two_producers, kind, get):
    data = two_producers
    with app.app_context(), tenant_scope(data["tenant"]):
        producer = _user(data["user"])
        assert get(producer, data["own"][kind]).id == data["own"][kind]
        with pytest.raises(NotFound) as other:
            get(producer, data["other"][kind])
        with pytest.raises(NotFound) as missing:
            get(producer, MISSING)
        assert (other.value.code, other.value.description) == (missing.value.code, missing.value.description)
        # Staff reach both.
        officer = _user(data["officer"])
        assert get(officer, data["other"][kind]).id == data["other"][kind]


def test_lists_hold_only_the_producers_own_records(app, two_producers):
    data = two_producers
    with app.app_context(), tenant_scope(data["tenant"]):
        producer = _user(data["user"])
        rows = cycle.applications_for(producer, cycle_id=data["cycle"])
        assert [a.id for a, _product, _producer in rows] == [data["own"]["application"]]
        assert cycle.status_counts_for(producer, data["cycle"]) == {}
        assert [p.id for p in registry.products_for(producer, "application.start")] == [data["own"]["product"]]
        # Staff see the whole pipeline of the cycle.
        everything = set(db.session.scalars(select(Application.id).where(Application.cycle_id == data["cycle"])))
        officer = _user(data["officer"])
        assert {a.id for a, _p, _pr in cycle.applications_for(officer, cycle_id=data["cycle"])} == everything
        assert cycle.status_counts_for(officer, data["cycle"]) == cycle.status_counts(data["cycle"])


def test_upload_for_another_producer_is_refused_like_a_missing_one(app, two_producers):
    data = two_producers
    with app.app_context(), tenant_scope(data["tenant"]):
        producer = _user(data["user"])
        assert documents.uploader_producer_id(producer, None) == data["own"]["producer"]
        assert documents.uploader_producer_id(producer, str(data["own"]["producer"])) == data["own"]["producer"]
        with pytest.raises(NotFound):
            documents.uploader_producer_id(producer, data["other"]["producer"])
        assert documents.uploader_producer_id(_user(data["officer"]), 7) == 7


def test_over_http_another_producers_records_answer_404(app, two_producers):
    data = two_producers
    client = app.test_client()
    assert login(client, "/bac-giang/login", data["email"]).status_code == 302
    pages = {
        "application": "/bac-giang/applications/{}",
        "product": "/bac-giang/products/{}",
        "producer": "/bac-giang/producers/{}",
        "document": "/bac-giang/documents/{}",
    }
    for kind, url in pages.items():
        assert client.get(url.format(data["own"][kind])).status_code == 200, kind
        assert client.get(url.format(data["other"][kind])).status_code == 404, kind
        assert client.get(url.format(MISSING)).status_code == 404, kind
    token = csrf_token(client, "/bac-giang/applications")
    for action in ("act/return_idea", "reuse"):
        url = f"/bac-giang/applications/{data['other']['application']}/{action}"
        assert client.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 404
    listing = client.get("/bac-giang/applications").get_data(as_text=True)
    assert f'/applications/{data["own"]["application"]}"' in listing
    assert f'/applications/{data["other"]["application"]}"' not in listing
