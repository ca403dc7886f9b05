"""Expiry reminders with the clock moved: 90/60/30 days (or the province's days), each once, never later
than 30 days before expiry, none for revoked or superseded certificates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.reminders import due_threshold
from app.certification.services import certificate_revoke
from app.core import clock
from app.extensions import db
from app.notices import services
from app.notices.jobs import run_daily_sweeps
from app.notices.models import Notice, NoticeRecipient
from app.registry.models import Producer
from tenants.context import tenant_scope
from tests import factories

DECIDED = date(2024, 3, 5)  # valid through 05/03/2027 (36 months, Civil Code)
VALID_TO = date(2027, 3, 5)


def _certified(app, tenant_id, *, email="lien.he@example.vn", decided=DECIDED):
    """A producer (with a contact address and a producer user) whose product holds one certificate."""
    with app.app_context(), tenant_scope(tenant_id):
        product = factories.ProductFactory()
        db.session.get(Producer, (tenant_id, product.producer_id)).email = email
        db.session.commit()
        producer_id, product_id = product.producer_id, product.id
    user_id, _email = factories.user_of_role(app, tenant_id, "producer", producer_id=producer_id)
    with clock.frozen(decided + timedelta(days=1)):
        certificate_id = factories.certificate_recorded(app, tenant_id, product_id, decision_date=decided)
    return certificate_id, product_id, user_id


def _sweep(app, tenant_id, day) -> dict:
    with clock.frozen(day), app.app_context():
        return run_daily_sweeps(tenant_id)


def _reminders(app, tenant_id) -> list[tuple[str, str]]:
    with app.app_context(), tenant_scope(tenant_id):
        return [
            (n.subject_key, n.occasion)
            for n in db.session.scalars(select(Notice).where(Notice.kind == "certificate_expiry").order_by(Notice.id))
        ]


def test_the_due_threshold_is_the_tightest_reached_and_never_under_30_days():
    days = (90, 60, 30)
    assert [due_threshold(n, days) for n in (120, 91, 90, 70, 60, 45, 31, 30, 29, 0)] == [
        None,
        None,
        90,
        90,
        60,
        60,
        60,
        30,
        None,
        None,
    ]


def test_reminders_at_90_60_30_days_each_once_never_later(app, fresh_tenant, empty_notifications):
    tenant_id, _slug = fresh_tenant
    certificate_id, _product_id, user_id = _certified(app, tenant_id)
    key = f"certificate:{certificate_id}"
    # Every day from 120 days before expiry to the day after it, the sweep running twice a day.
    for days_left in range(120, -2, -1):
        day = VALID_TO - timedelta(days=days_left)
        _sweep(app, tenant_id, day)
        _sweep(app, tenant_id, day)
    assert _reminders(app, tenant_id) == [(key, "90d-2027-03-05"), (key, "60d-2027-03-05"), (key, "30d-2027-03-05")]
    with app.app_context(), tenant_scope(tenant_id):
        created = {n.occasion: n.created_at for n in db.session.scalars(select(Notice))}
        recipients = db.session.execute(select(NoticeRecipient.user_id, NoticeRecipient.email)).all()
    assert len(created) == 3
    assert sorted(recipients, key=str) == sorted([(user_id, None), (None, "lien.he@example.vn")] * 3, key=str)


def test_a_certificate_recorded_with_70_days_left_gets_the_due_reminder_once(app, fresh_tenant, empty_notifications):
    tenant_id, _slug = fresh_tenant
    certificate_id, _p, _u = _certified(app, tenant_id)
    key = f"certificate:{certificate_id}"
    assert _sweep(app, tenant_id, VALID_TO - timedelta(days=70)) == {"certificate_expiry": 1, "inspection_overdue": 0}
    assert _sweep(app, tenant_id, VALID_TO - timedelta(days=70)) == {"certificate_expiry": 0, "inspection_overdue": 0}
    assert _sweep(app, tenant_id, VALID_TO - timedelta(days=65)) == {"certificate_expiry": 0, "inspection_overdue": 0}
    assert _reminders(app, tenant_id) == [(key, "90d-2027-03-05")]
    # With 45 left the 60-day reminder is due (and the 90-day one is not sent again).
    _sweep(app, tenant_id, VALID_TO - timedelta(days=45))
    assert _reminders(app, tenant_id) == [(key, "90d-2027-03-05"), (key, "60d-2027-03-05")]


def test_no_reminder_under_30_days(app, fresh_tenant, empty_notifications):
    tenant_id, _slug = fresh_tenant
    _certified(app, tenant_id)
    for days_left in (29, 10, 1, 0):
        _sweep(app, tenant_id, VALID_TO - timedelta(days=days_left))
    assert _reminders(app, tenant_id) == []


def test_revoked_and_superseded_certificates_get_no_reminder(app, fresh_tenant, empty_notifications):
    tenant_id, _slug = fresh_tenant
    revoked_id, _p, _u = _certified(app, tenant_id)
    old_id, product_id, _u2 = _certified(app, tenant_id)
    with clock.frozen(date(2025, 6, 1)), app.app_context(), tenant_scope(tenant_id):
        certificate = db.session.get(Certificate, (tenant_id, revoked_id))
        certificate_revoke(certificate, "Vi phạm", "9/QĐ-UBND", date(2025, 6, 1))
        db.session.commit()
    with clock.frozen(date(2025, 7, 1)):  # a re-recognition supersedes the old certificate
        factories.certificate_recorded(app, tenant_id, product_id, decision_date=date(2025, 7, 1), stars=4)
    for days_left in (90, 60, 30):
        _sweep(app, tenant_id, VALID_TO - timedelta(days=days_left))
    assert _reminders(app, tenant_id) == []


def test_the_provinces_days_are_used_and_later_than_30_is_refused(app, fresh_tenant, empty_notifications):
    tenant_id, _slug = fresh_tenant
    certificate_id, _p, _u = _certified(app, tenant_id, email=None)
    with app.app_context(), tenant_scope(tenant_id):
        for bad in ([29], [60, 15], [], ["90"], [True], [10**12], "90"):
            with pytest.raises(services.NoticeError):
                services.notice_settings_save(bad)
        services.notice_settings_save([45, 120, 45])
        db.session.commit()
        assert services.expiry_reminder_days() == (120, 45)
    for days_left in range(125, 25, -1):
        _sweep(app, tenant_id, VALID_TO - timedelta(days=days_left))
    key = f"certificate:{certificate_id}"
    assert _reminders(app, tenant_id) == [(key, "120d-2027-03-05"), (key, "45d-2027-03-05")]


def test_the_database_refuses_days_later_than_30(app, fresh_tenant):
    from sqlalchemy.exc import IntegrityError

    from app.notices.models import NoticeSettings

    tenant_id, _slug = fresh_tenant
    with app.app_context(), tenant_scope(tenant_id):
        db.session.add(NoticeSettings(expiry_reminder_days=[90, 20]))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
