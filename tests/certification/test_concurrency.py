"""Two officers correcting or revoking one certificate at the same moment, on two real PostgreSQL
connections: one wins; the other gets "changed meanwhile" and nothing of theirs is written."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.certification import services
from app.certification.models import Certificate
from app.extensions import db
from app.registry.models import Product
from tenants.context import tenant_scope
from tests.conftest import csrf_token
from tests.race import at_once

CHANGED = "Giấy chứng nhận đã được người khác thay đổi, vui lòng tải lại trang."


@pytest.fixture()
def certificate(app, tenants, new_product):
    product_id = new_product()
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        cert, _created = services.certificate_record(
            product, stars=3, score="55", decision_number="77/QĐ-UBND", decision_date=date(2024, 3, 5)
        )
        db.session.commit()
        return tenants["bac-giang"], cert.id


def _race(app, tenant_id, certificate_id, actions):
    """Each action(cert, expected_version) acts on the certificate as its page showed it (tests/race.py)."""

    def read(_action):
        cert = db.session.scalar(select(Certificate).where(Certificate.id == certificate_id))
        return cert, services.certificate_version(cert)

    def act(action, shown):
        action(*shown)
        return "done"

    return at_once(app, tenant_id, actions, read, act, services.CertificateError)


def _stored(app, tenant_id, certificate_id):
    with app.app_context(), tenant_scope(tenant_id):
        cert = db.session.scalar(select(Certificate).where(Certificate.id == certificate_id))
        return cert.stars, str(cert.score), cert.revoked_on, cert.revoke_decision_number


def test_two_corrections_at_once_one_wins_the_other_is_told(app, certificate):
    tenant_id, certificate_id = certificate
    results = _race(
        app,
        tenant_id,
        certificate_id,
        [
            lambda cert, v: services.certificate_correct(cert, expected_version=v, stars=4, score="75"),
            lambda cert, v: services.certificate_correct(cert, expected_version=v, score="58"),
        ],
    )
    assert sorted(results, key=str) == sorted(["done", ("CertificateChangedMeanwhile", CHANGED)], key=str)
    stars, score, _revoked_on, _number = _stored(app, tenant_id, certificate_id)
    assert (stars, score) == ((4, "75.00") if results[0] == "done" else (3, "58.00"))


def test_a_correction_and_a_revocation_at_once(app, certificate):
    tenant_id, certificate_id = certificate
    results = _race(
        app,
        tenant_id,
        certificate_id,
        [
            lambda cert, v: services.certificate_correct(cert, expected_version=v, score="60"),
            lambda cert, v: services.certificate_revoke(
                cert, "Vi phạm nhãn mác", "9/QĐ-UBND", date(2025, 1, 2), expected_version=v
            ),
        ],
    )
    assert sorted(results, key=str) == sorted(["done", ("CertificateChangedMeanwhile", CHANGED)], key=str)
    _stars, score, revoked_on, number = _stored(app, tenant_id, certificate_id)
    if results[0] == "done":
        assert (score, revoked_on, number) == ("60.00", None, None)
    else:
        assert (score, revoked_on, number) == ("55.00", date(2025, 1, 2), "9/QĐ-UBND")


def test_two_revocations_at_once_revoke_once(app, certificate):
    tenant_id, certificate_id = certificate

    def revoke(number):
        return lambda cert, v: services.certificate_revoke(
            cert, "Vi phạm", number, date(2025, 1, 2), expected_version=v
        )

    results = _race(app, tenant_id, certificate_id, [revoke("1/QĐ-UBND"), revoke("2/QĐ-UBND")])
    assert sorted(results, key=str) == sorted(["done", ("CertificateChangedMeanwhile", CHANGED)], key=str)
    assert _stored(app, tenant_id, certificate_id)[3] == ("1/QĐ-UBND" if results[0] == "done" else "2/QĐ-UBND")


def test_the_pages_carry_the_version_and_a_stale_form_changes_nothing(app, certificate, officer_login):
    tenant_id, certificate_id = certificate
    officer, _uid, _email = officer_login("bac-giang")
    edit = f"/bac-giang/certificates/{certificate_id}/edit"
    page = officer.get(edit).get_data(as_text=True)
    with app.app_context(), tenant_scope(tenant_id):
        cert = db.session.scalar(select(Certificate).where(Certificate.id == certificate_id))
        seen = services.certificate_version(cert)
    assert f'name="version" type="hidden" value="{seen}"' in page
    token = csrf_token(officer, edit)
    form = {"csrf_token": token, "stars": "3", "decision_number": "77/QĐ-UBND", "decision_date": "05/03/2024"}
    with app.app_context(), tenant_scope(tenant_id):  # another officer corrects it meanwhile
        cert = db.session.scalar(select(Certificate).where(Certificate.id == certificate_id))
        services.certificate_correct(cert, score="56")
        db.session.commit()
    stale = officer.post(edit, data={**form, "score": "59", "version": seen})
    assert stale.status_code == 200 and CHANGED in stale.get_data(as_text=True)
    assert _stored(app, tenant_id, certificate_id)[1] == "56.00"
    revoke = f"/bac-giang/certificates/{certificate_id}/revoke"
    assert f'value="{seen}"' not in officer.get(revoke).get_data(as_text=True)  # a fresh page, the new version
    stale = officer.post(
        revoke,
        data={
            "csrf_token": token,
            "reason": "Vi phạm",
            "decision_number": "3/QĐ-UBND",
            "decision_date": "02/01/2025",
            "version": seen,
        },
    )
    assert stale.status_code == 200 and CHANGED in stale.get_data(as_text=True)
    assert _stored(app, tenant_id, certificate_id)[2] is None
