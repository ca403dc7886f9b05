"""Set-wise scheduling: what one run plans for each certificate, exact counts, re-runs, re-planning."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.services import certificate_correct, certificate_record, certificate_revoke
from app.core import clock
from app.extensions import db
from app.inspection.models import Inspection, InspectionPolicy
from app.inspection.policy import rules_parse
from app.inspection.scheduling import ScheduleReport, inspection_schedule
from app.inspection.services import inspection_policy_update
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


def test_a_second_run_changes_nothing(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    for _ in range(3):
        _certify(app, tenant_id, set_code="I.1.1", score=65)
    assert _schedule(app, tenant_id).created == 9
    assert _schedule(app, tenant_id) == ScheduleReport(created=0, moved=0, cancelled=0)
    assert len(_rows(app, tenant_id)) == 9


def test_the_next_period_is_planned_once_the_current_one_is_done(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert = _certify(app, tenant_id, score=65)
    _schedule(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        routine = db.session.scalar(select(Inspection).where(Inspection.kind == "routine"))
        routine.status, routine.outcome, routine.visited_on = "done", "pass", DAY
        db.session.commit()
    assert _schedule(app, tenant_id).created == 1
    assert [r[:5] for r in _rows(app, tenant_id, cert) if r[0] == "routine"] == [
        ("routine", "12m:1", date(2026, 1, 10), date(2027, 1, 9), "done"),
        ("routine", "12m:2", date(2027, 1, 10), date(2028, 1, 9), "planned"),
    ]


def test_an_undone_inspection_stays_open_when_its_period_is_over(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert = _certify(app, tenant_id, score=65)
    _schedule(app, tenant_id)
    later = date(2027, 2, 1)  # in the second period: the first one is overdue, not forgotten
    assert _schedule(app, tenant_id, today=later) == ScheduleReport(created=1, moved=0, cancelled=0)
    assert [r[1] for r in _rows(app, tenant_id, cert, status="planned") if r[0] == "routine"] == ["12m:1", "12m:2"]


def test_revoking_cancels_what_is_open_and_keeps_what_is_done(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert_id = _certify(app, tenant_id, set_code="I.1.1", score=65)
    _schedule(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id), clock.frozen(DAY):
        sampling = db.session.scalar(select(Inspection).where(Inspection.kind == "sampling"))
        sampling.status, sampling.outcome, sampling.visited_on = "done", "major", DAY
        cert = db.session.get(Certificate, (tenant_id, cert_id))
        certificate_revoke(cert, "Vi phạm an toàn thực phẩm", "12/QĐ-THU", DAY)
        db.session.commit()
    report = _schedule(app, tenant_id)
    assert (report.created, report.cancelled) == (0, 2)
    assert [(r[0], r[4], r[5]) for r in _rows(app, tenant_id, cert_id)] == [
        ("expiry_review", "cancelled", "revoked"),
        ("routine", "cancelled", "revoked"),
        ("sampling", "done", None),
    ]


def test_a_new_decision_supersedes_the_old_plan_and_plans_its_own(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    old = _certify(app, tenant_id, score=65)
    _schedule(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id), clock.frozen(DAY):
        product_id = db.session.get(Certificate, (tenant_id, old)).product_id
        product = db.session.get(Product, (tenant_id, product_id))
        new, _ = certificate_record(product, stars=4, score=80, decision_number="UP/QĐ", decision_date=date(2026, 3, 1))
        db.session.commit()
        new_id = new.id
    report = _schedule(app, tenant_id)
    assert (report.created, report.moved, report.cancelled) == (2, 0, 2)
    assert {(r[0], r[5]) for r in _rows(app, tenant_id, old)} == {
        ("routine", "superseded"),
        ("expiry_review", "superseded"),
    }
    assert [r[:4] for r in _rows(app, tenant_id, new_id)] == [
        ("expiry_review", "expiry", date(2028, 11, 1), date(2028, 12, 1)),
        ("routine", "12m:1", date(2026, 3, 1), date(2027, 2, 28)),
    ]


def test_expiry_cancels_the_open_inspections(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert = _certify(app, tenant_id, score=65, decided=date(2023, 1, 5))  # valid to 05/01/2026
    assert _schedule(app, tenant_id, today=date(2025, 12, 1)).created == 2
    report = _schedule(app, tenant_id, today=date(2026, 1, 6))
    assert (report.created, report.cancelled) == (0, 2)
    assert {(r[0], r[5]) for r in _rows(app, tenant_id, cert)} == {("routine", "expired"), ("expiry_review", "expired")}


def test_a_corrected_validity_moves_the_expiry_review(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert_id = _certify(app, tenant_id, score=65)
    _schedule(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id), clock.frozen(DAY):
        certificate_correct(db.session.get(Certificate, (tenant_id, cert_id)), valid_to=date(2028, 12, 31))
        db.session.commit()
    report = _schedule(app, tenant_id)
    assert (report.created, report.moved, report.cancelled) == (0, 1, 0)
    assert [r[:4] for r in _rows(app, tenant_id, cert_id) if r[0] == "expiry_review"] == [
        ("expiry_review", "expiry", date(2028, 9, 2), date(2028, 10, 2))
    ]


def test_a_period_an_officer_cancelled_is_not_planned_again(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    cert = _certify(app, tenant_id, score=65)
    _schedule(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        routine = db.session.scalar(select(Inspection).where(Inspection.kind == "routine"))
        routine.status, routine.cancel_reason = "cancelled", "manual"
        db.session.commit()
    assert _schedule(app, tenant_id).created == 0
    assert [r[4] for r in _rows(app, tenant_id, cert) if r[0] == "routine"] == ["cancelled"]


def test_a_policy_change_replans_what_is_not_done(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    done_cert = _certify(app, tenant_id, set_code="I.1.1", score=65)
    open_cert = _certify(app, tenant_id, set_code="I.1.1", score=65)
    _schedule(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        done = db.session.scalar(
            select(Inspection).where(Inspection.certificate_id == done_cert, Inspection.kind == "routine")
        )
        done.status, done.outcome, done.visited_on = "done", "pass", DAY
        db.session.commit()
        # The admin: routine every 6 months, food no longer sampled, review 60 days before expiry.
        inspection_policy_update(
            None, {"default_months": 6, "sampling_groups": [], "expiry_review_days": 60}, expected_version=0
        )
        db.session.commit()
        assert db.session.scalar(select(InspectionPolicy.version)) == 1
    report = _schedule(app, tenant_id)
    # open_cert: 12m:1 → 6m:1, its sampling cancelled; done_cert: its done 12m:1 stays and 6m:1 is new
    # (another scheme's period), its sampling cancelled; both expiry reviews move.
    assert (report.created, report.moved, report.cancelled) == (2, 2, 3)
    assert [r[:2] + r[4:] for r in _rows(app, tenant_id, open_cert)] == [
        ("expiry_review", "expiry", "planned", None),
        ("routine", "12m:1", "cancelled", "replanned"),
        ("routine", "6m:1", "planned", None),
        ("sampling", "12m:1", "cancelled", "replanned"),
    ]
    assert [r[:2] + r[4:] for r in _rows(app, tenant_id, done_cert)] == [
        ("expiry_review", "expiry", "planned", None),
        ("routine", "12m:1", "done", None),
        ("routine", "6m:1", "planned", None),
        ("sampling", "12m:1", "cancelled", "replanned"),
    ]
    assert _schedule(app, tenant_id) == ScheduleReport(0, 0, 0)


def test_scheduling_one_tenant_leaves_the_others_alone(app, fresh_tenant):
    from tests.factories import new_tenant

    tenant_id, _slug = fresh_tenant
    other_id, _other = new_tenant(app)
    for _ in range(4):
        _certify(app, tenant_id, score=65)
    _certify(app, other_id, score=65)
    assert _schedule(app, tenant_id).created == 8
    assert _rows(app, other_id) == []
    assert _schedule(app, other_id).created == 2
    assert len(_rows(app, tenant_id)) == 8
