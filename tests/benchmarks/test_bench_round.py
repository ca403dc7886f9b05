"""Scoring and closing a round of 200 products at the services level (`make bench`), three scoring members.

Each member declares no conflict, saves every criterion and hands the sheet in, product by product (one
transaction per product and member, as the pages do); the officer then closes the round with the decision,
which computes every product's result and records its certificate. The times are printed and kept in
extra_info; only the outcome is asserted (timings are not tests).
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal as D

from sqlalchemy import func, select

from app.auth.models import User
from app.certification.models import Certificate
from app.evaluation import services
from app.extensions import db
from app.registry.models import Product
from tenants.context import tenant_scope
from tests import factories

PRODUCTS = 200
SHARES = (D("0.80"), D("0.78"), D("0.82"))  # chair, member, member: mean 80 → 4★, spread 4


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def test_score_and_close_a_round_of_200_products(benchmark, app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    council_id, scorers = factories.council_with_members(app, tenant_id, ("chair", "member", "member"))
    _officer_id, officer_email = factories.user_of_role(app, tenant_id, "province_officer")
    application_ids = [
        factories.application_at(app, tenant_id, "ready_for_council").application_id for _ in range(PRODUCTS)
    ]
    with app.app_context(), tenant_scope(tenant_id):
        council_round = services.round_create(
            _user(officer_email), council_id, "Đợt 200", date.today() - timedelta(days=1)
        )
        assert services.round_assign(council_round, application_ids) == PRODUCTS
        round_id = council_round.id
        item_ids = [item.id for item, _p in services.round_products(council_round)]
        db.session.commit()

    timings = {}

    def score_and_close():
        started = time.perf_counter()
        with app.app_context(), tenant_scope(tenant_id):
            for (_uid, email), share in zip(scorers, SHARES, strict=True):
                for item_id in item_ids:
                    user = _user(email)
                    council_round = services.round_get(user, round_id)
                    item = services.round_product_get(council_round, item_id)
                    services.conflict_declare(user, council_round, item, False, "")
                    product = db.session.scalar(select(Product).where(Product.id == item.product_id))
                    criteria = services.criteria_for(council_round.act, product)
                    services.score_save(user, council_round, item, {c.code: str(c.max * share) for c in criteria})
                    services.score_submit(user, council_round, item)
                    db.session.commit()
        scored = time.perf_counter()
        with app.app_context(), tenant_scope(tenant_id):
            officer = _user(officer_email)
            services.round_close(
                officer, services.round_get(officer, round_id), "200/QĐ-UBND", date.today(), "UBND tỉnh"
            )
            db.session.commit()
        closed = time.perf_counter()
        timings.update(score_s=round(scored - started, 1), close_s=round(closed - scored, 1))

    benchmark.pedantic(score_and_close, rounds=1, iterations=1)
    with app.app_context(), tenant_scope(tenant_id):
        assert (
            db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.stars == 4)) == PRODUCTS
        )
    info = {"products": PRODUCTS, "members": len(SHARES), **timings}
    benchmark.extra_info.update(info)
    print(f"\nround of {PRODUCTS} products: {info}")
