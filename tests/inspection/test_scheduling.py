"""Set-wise scheduling: what one run plans for each certificate, exact counts, re-runs, re-planning."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.certification.services import certificate_record
from app.core import clock
from app.extensions import db
from app.inspection.models import Inspection
from app.inspection.policy import rules_parse
from app.inspection.scheduling import inspection_schedule
from app.registry.models import Product
from tenants.context import tenant_scope
from tests.factories import _short, producer_with_product

DAY = date(2026, 3, 2)


def _certify(app, tenant_id, *, set_code="IV.1.1", stars=3, score=None, decided=date(2026, 1, 10), **fields):
    _producer, product_id = producer_with_product(app, tenant_id, set_code=set_code)
    with app.app_context(), tenant_scope(tenant_id), clock.frozen(DAY):
        product = db.session.get(Product, (tenant_id, product_id))
        cert, _ = certificate_record(
            product, stars=stars, score=score, decision_number=f"{_short()}/QĐ", decision_date=decided, **fields
        )
        db.session.commit()
        return cert.id


def _schedule(app, tenant_id, today=DAY, rules=None, version=1):
    with app.app_context(), tenant_scope(tenant_id):
        if rules is not None:
            report = inspection_schedule(rules_parse(rules), policy_version=version, today=today)
        else:
            report = inspection_schedule(today=today)
        db.session.commit()
        return report


def _rows(app, tenant_id, certificate_id=None, status=None):
    with app.app_context(), tenant_scope(tenant_id):
        query = select(Inspection).order_by(Inspection.kind, Inspection.period_key, Inspection.id)
        if certificate_id is not None:
            query = query.where(Inspection.certificate_id == certificate_id)
        if status is not None:
            query = query.where(Inspection.status == status)
        return [
            (i.kind, i.period_key, i.window_start, i.due_on, i.status, i.cancel_reason)
            for i in db.session.scalars(query)
        ]


def test_a_non_food_3_star_gets_a_yearly_routine_and_an_expiry_review(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert = _certify(app, tenant_id, score=65)  # handicraft (IV), not sampled
    report = _schedule(app, tenant_id)
    assert (report.created, report.moved, report.cancelled) == (2, 0, 0)
    assert _rows(app, tenant_id, cert) == [
        ("expiry_review", "expiry", date(2028, 9, 12), date(2028, 10, 12), "planned", None),
        ("routine", "12m:1", date(2026, 1, 10), date(2027, 1, 9), "planned", None),
    ]


def test_food_is_sampled_yearly_and_a_weak_3_star_inspected_every_6_months(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert = _certify(app, tenant_id, set_code="I.1.1", score=55)
    assert _schedule(app, tenant_id).created == 3
    assert _rows(app, tenant_id, cert) == [
        ("expiry_review", "expiry", date(2028, 9, 12), date(2028, 10, 12), "planned", None),
        ("routine", "6m:1", date(2026, 1, 10), date(2026, 7, 9), "planned", None),
        ("sampling", "12m:1", date(2026, 1, 10), date(2027, 1, 9), "planned", None),
    ]


def test_each_policy_rule_by_star_band_and_group(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    rules = {
        "default_months": 24,
        "rules": [
            {"stars": [5], "months": 18},
            {"stars": [3], "score_min": 50, "score_max": 60, "months": 3},
            {"groups": ["III"], "months": 9},
        ],
        "sampling_groups": ["II"],
        "sampling_months": 6,
        "expiry_review_days": 60,
    }
    five = _certify(app, tenant_id, stars=5, score=95, set_code="III.1.1")  # star rule beats the group rule
    weak = _certify(app, tenant_id, stars=3, score=Decimal("59.99"))
    edge = _certify(app, tenant_id, stars=3, score=60)  # 60 is not below 60: the default
    herbal = _certify(app, tenant_id, stars=4, score=80, set_code="III.1.1")
    drink = _certify(app, tenant_id, stars=4, score=80, set_code="II.1.1")
    unscored = _certify(app, tenant_id, stars=3, score=None)  # no score matches no band
    report = _schedule(app, tenant_id, rules=rules)
    assert report.created == 6 + 6 + 1  # routine and expiry review each, one drink sampled
    routine = {
        c: [r[1] for r in _rows(app, tenant_id, c) if r[0] == "routine"]
        for c in (five, weak, edge, herbal, drink, unscored)
    }
    assert routine == {
        five: ["18m:1"],
        weak: ["3m:1"],
        edge: ["24m:1"],
        herbal: ["9m:1"],
        drink: ["24m:1"],
        unscored: ["24m:1"],
    }
    assert [r[:4] for r in _rows(app, tenant_id, drink) if r[0] != "routine"] == [
        ("expiry_review", "expiry", date(2028, 10, 12), date(2028, 11, 11)),
        ("sampling", "6m:1", date(2026, 1, 10), date(2026, 7, 9)),
    ]
