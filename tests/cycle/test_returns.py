"""A return can be acted on: the returned idea is edited and sent again (from the day shown, dd/mm/yyyy),
and a returned plan comes back with its text in the box."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.core import clock
from app.cycle import services, workflow
from app.cycle.models import Application
from app.extensions import db
from tenants.context import tenant_scope
from tests.conftest import csrf_token, login
from tests.factories import application_at, user_of_role


def _producer_client(app, slug, tenant_id, producer_id):
    _uid, email = user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    client = app.test_client()
    assert login(client, f"/{slug}/login", email).status_code == 302
    return client


def test_a_returned_idea_shows_when_it_may_be_sent_again_and_is_sent_edited(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    ids = application_at(app, tenant_id, "idea_returned")
    client = _producer_client(app, slug, tenant_id, ids.producer_id)
    url = f"/{slug}/applications/{ids.application_id}"
    page = client.get(url).get_data(as_text=True)
    day = (clock.today() + timedelta(days=workflow.IDEA_RESUBMIT_AFTER_DAYS)).strftime("%d/%m/%Y")
    assert f"Gửi lại được từ ngày {day}." in page
    assert "Ý tưởng thử</textarea>" in page  # the idea, to be edited
    data = {"csrf_token": csrf_token(client, url), "idea_summary": "Ý tưởng đã sửa", "expected_status": "idea_returned"}
    client.post(f"{url}/act/resubmit_idea", data=data)
    assert f"từ ngày {day}" in client.get(url).get_data(as_text=True)  # refused today, with the date
    with app.app_context(), tenant_scope(tenant_id):
        application = db.session.scalar(select(Application).where(Application.id == ids.application_id))
        producer = db.session.scalar(select(User).where(User.producer_id == ids.producer_id).limit(1))
        with pytest.raises(services.WorkflowError, match=f"từ ngày {day}"):
            services.application_act(application, "resubmit_idea", user=producer, today=clock.today())
        db.session.rollback()
        application = db.session.scalar(select(Application).where(Application.id == ids.application_id))
        producer = db.session.scalar(select(User).where(User.producer_id == ids.producer_id).limit(1))
        services.cycle_keep_open(
            db.session.scalar(select(services.Cycle).where(services.Cycle.id == ids.cycle_id)),
            clock.today() - timedelta(days=30),
            clock.today() + timedelta(days=30),
        )
        services.application_act(
            application,
            "resubmit_idea",
            user=producer,
            today=clock.today() + timedelta(days=workflow.IDEA_RESUBMIT_AFTER_DAYS),
            idea_summary="Ý tưởng đã sửa",
        )
        assert (application.status, application.idea_summary) == ("idea_submitted", "Ý tưởng đã sửa")
        db.session.rollback()


def test_a_returned_plan_comes_back_in_its_box(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    ids = application_at(app, tenant_id, "plan_returned")
    client = _producer_client(app, slug, tenant_id, ids.producer_id)
    page = client.get(f"/{slug}/applications/{ids.application_id}").get_data(as_text=True)
    assert 'name="business_plan"' in page and "20 tấn/năm</textarea>" in page
