"""A council of four scoring members (chair first) and a round with one ready application, in a fresh tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.evaluation import services
from app.extensions import db
from tenants.context import tenant_scope
from tests.factories import application_at, council_with_members, user_of_role


@dataclass
class Setup:
    tenant_id: int
    slug: str
    council_id: int
    round_id: int
    item_id: int
    product_id: int
    members: list  # user ids: chair, vice-chair, member, member
    emails: list
    officer_email: str
    producer_id: int


def council_for(app, tenant_id: int, scorers: int = 4) -> tuple[int, list, list]:
    roles = ("chair", "vice_chair", *["member"] * (scorers - 2))
    council_id, users = council_with_members(app, tenant_id, roles)
    return council_id, [u for u, _e in users], [e for _u, e in users]


@pytest.fixture()
def setup(app, fresh_tenant) -> Setup:
    tenant_id, slug = fresh_tenant
    council_id, members, emails = council_for(app, tenant_id)
    ids = application_at(app, tenant_id, "ready_for_council")
    _officer_id, officer_email = user_of_role(app, tenant_id, "province_officer")
    with app.app_context(), tenant_scope(tenant_id):
        officer = db.session.scalar(select(User).where(User.email == officer_email))
        council_round = services.round_create(officer, council_id, "Đợt 1", date.today() - timedelta(days=1))
        assert services.round_assign(council_round, [ids.application_id]) == 1
        item = services.round_products(council_round)[0][0]
        db.session.commit()
        return Setup(
            tenant_id,
            slug,
            council_id,
            council_round.id,
            item.id,
            ids.product_id,
            members,
            emails,
            officer_email,
            ids.producer_id,
        )
