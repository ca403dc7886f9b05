"""Certificate rules: term and status on boundary dates, defaults, idempotence, chain, revoke, correct."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.certification import services as certs
from app.certification.models import Certificate
from app.extensions import db
from app.registry.models import Product


def _product(product_id):
    return db.session.scalar(select(Product).where(Product.id == product_id))


def test_term_is_36_months_counted_as_the_civil_code_does():
    assert certs.certificate_term_end(date(2020, 3, 5)) == date(2023, 3, 5)
    assert certs.certificate_term_end(date(2020, 2, 29)) == date(2023, 2, 28)
    assert certs.certificate_term_end(date(2019, 12, 31)) == date(2022, 12, 31)


def test_status_on_boundary_dates(app, new_product, in_tenant):
    product_id = new_product()
    with in_tenant():
        cert, created = certs.certificate_record(
            _product(product_id), stars=3, decision_number="123/QĐ-UBND", decision_date=date(2020, 3, 5)
        )
        db.session.commit()
        assert created is True
        assert (cert.valid_from, cert.valid_to) == (date(2020, 3, 5), date(2023, 3, 5))
        status = certs.certificate_status
        assert status(cert, date(2020, 3, 4)).code == "not_yet_valid"
        assert status(cert, date(2020, 3, 5)).code == "valid"
        assert status(cert, date(2020, 3, 5)).days_left == 1095
        # Valid on its last day, expired the day after.
        last = status(cert, date(2023, 3, 5))
        assert (last.code, last.days_left, last.window) == ("expiring", 0, 30)
        assert status(cert, date(2023, 3, 6)).code == "expired"
        # Windows: exactly 30 days → 30; 31 → 60; exactly 60 → 60; exactly 90 → 90; 91 → valid.
        assert (status(cert, date(2023, 2, 3)).days_left, status(cert, date(2023, 2, 3)).window) == (30, 30)
        assert status(cert, date(2023, 2, 2)).window == 60
        assert (status(cert, date(2023, 1, 4)).days_left, status(cert, date(2023, 1, 4)).window) == (60, 60)
        assert status(cert, date(2023, 1, 3)).window == 90
        assert (status(cert, date(2022, 12, 5)).days_left, status(cert, date(2022, 12, 5)).window) == (90, 90)
        assert status(cert, date(2022, 12, 4)).code == "valid"
        # The SQL conditions agree with the status on every boundary.
        for day in (date(2020, 3, 4), date(2022, 12, 4), date(2022, 12, 5), date(2023, 3, 5), date(2023, 3, 6)):
            code = status(cert, day).code
            for candidate in ("valid", "expiring", "expired", "not_yet_valid", "revoked", "superseded"):
                hit = db.session.scalar(
                    select(Certificate.id).where(
                        Certificate.id == cert.id, certs.certificate_status_filter(candidate, day)
                    )
                )
                assert (hit is not None) == (candidate == code), (day, candidate, code)


def test_defaults_follow_the_act_in_force(app, new_product, in_tenant):
    with in_tenant():
        cases = [
            (date(2020, 6, 1), 3, "1048/QĐ-TTg", "province"),
            (date(2023, 3, 1), 3, "148/QĐ-TTg", "district"),
            (date(2023, 3, 1), 4, "148/QĐ-TTg", "province"),
            (date(2024, 1, 1), 5, "148/QĐ-TTg", "ministry"),
            (date(2025, 8, 1), 3, "1489/QĐ-TTg", "province"),
        ]
        for decided, stars, act, authority in cases:
            product = _product(new_product())
            cert, _ = certs.certificate_record(product, stars=stars, decision_number="1/QĐ", decision_date=decided)
            assert (cert.act, cert.authority, cert.kind, cert.source) == (act, authority, "new", "manual")
        db.session.rollback()


def test_record_is_idempotent_and_applies_corrections(app, new_product, in_tenant):
    product_id = new_product()
    with in_tenant():
        product = _product(product_id)
        first, created = certs.certificate_record(
            product, stars=3, score="65.5", decision_number=" 45/QĐ-UBND ", decision_date=date(2021, 5, 10)
        )
        db.session.commit()
        again, created_again = certs.certificate_record(
            product, stars=3, decision_number="45/QĐ-UBND", decision_date=date(2021, 5, 10), source="import"
        )
        assert (created, created_again, again.id) == (True, False, first.id)
        assert not db.session.dirty
        fixed, created_fixed = certs.certificate_record(
            product, stars=4, score=72, decision_number="45/QĐ-UBND", decision_date=date(2021, 5, 10)
        )
        db.session.commit()
        assert (created_fixed, fixed.stars, fixed.score, fixed.source) == (False, 4, Decimal("72.00"), "manual")
        assert db.session.scalar(select(db.func.count()).where(Certificate.product_id == product_id)) == 1


def test_later_certificate_supersedes_and_current_stars_follow(app, new_product, in_tenant):
    product_id = new_product()
    with in_tenant():
        product = _product(product_id)
        first, _ = certs.certificate_record(product, stars=3, decision_number="10/QĐ", decision_date=date(2020, 1, 10))
        third, _ = certs.certificate_record(product, stars=3, decision_number="30/QĐ", decision_date=date(2024, 6, 1))
        # Recorded out of order: the chain is by date, not by entry.
        second, _ = certs.certificate_record(product, stars=4, decision_number="20/QĐ", decision_date=date(2022, 7, 1))
        db.session.commit()
        assert (first.kind, second.kind, third.kind) == ("new", "upgrade", "re_recognition")
        assert [c.id for c in certs.product_certificates(product)] == [third.id, second.id, first.id]
        assert (first.superseded_by_id, first.superseded_on) == (second.id, date(2022, 7, 1))
        assert (second.superseded_by_id, third.superseded_by_id) == (third.id, None)
        assert certs.certificate_status(first, date(2022, 6, 30)).code == "valid"
        assert certs.certificate_status(first, date(2022, 7, 1)).code == "superseded"
        assert certs.product_current_stars(product, date(2021, 1, 1)) == 3
        assert certs.product_current_stars(product, date(2023, 1, 1)) == 4
        assert certs.product_current_stars(product, date(2024, 6, 1)) == 3
        assert certs.product_current_stars(product, date(2027, 6, 2)) is None
        assert certs.product_current_stars(product, date(2019, 1, 1)) is None
        assert certs.current_stars_by_product([product_id], date(2023, 1, 1)) == {product_id: 4}


def test_revoke(app, new_product, in_tenant):
    product_id = new_product()
    with in_tenant():
        cert, _ = certs.certificate_record(
            _product(product_id), stars=4, decision_number="7/QĐ-UBND", decision_date=date(2024, 1, 15)
        )
        db.session.commit()
        with pytest.raises(certs.CertificateError):
            certs.certificate_revoke(cert, "Vi phạm ATTP", "9/QĐ-UBND", date(2024, 1, 14))
        certs.certificate_revoke(cert, "Vi phạm an toàn thực phẩm", "9/QĐ-UBND", date(2025, 2, 1))
        db.session.commit()
        assert certs.certificate_status(cert, date(2025, 1, 31)).code == "valid"
        assert certs.certificate_status(cert, date(2025, 2, 1)).code == "revoked"
        assert certs.certificate_status(cert, date(2030, 1, 1)).code == "revoked"
        assert certs.product_current_certificate(_product(product_id), date(2025, 2, 1)) is None
        with pytest.raises(certs.CertificateError):
            certs.certificate_revoke(cert, "again", "10/QĐ-UBND", date(2025, 3, 1))


def test_correction_is_audited(app, new_product, in_tenant):
    product_id = new_product()
    with in_tenant():
        cert, _ = certs.certificate_record(
            _product(product_id), stars=3, decision_number="5/QĐ", decision_date=date(2021, 4, 1)
        )
        db.session.commit()
        certs.certificate_correct(cert, decision_date=date(2021, 4, 2), score=68)
        db.session.commit()
        assert (cert.valid_from, cert.valid_to, cert.score) == (date(2021, 4, 2), date(2024, 4, 2), Decimal("68.00"))
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "certificates", AuditEntry.entity_id == cert.id)
        ).all()
        assert [e.action for e in entries] == ["create", "update"]
        assert entries[1].changes["decision_date"] == ["2021-04-01", "2021-04-02"]
        assert entries[1].changes["score"] == [None, "68.00"]


@pytest.mark.parametrize(
    "values, field",
    [
        ({"stars": 2}, "stars"),
        ({"stars": "x"}, "stars"),
        ({"score": 101}, "score"),
        ({"score": "1e999"}, "score"),
        ({"score": "NaN"}, "score"),
        ({"stars": 4, "score": 69.99}, "score"),
        ({"stars": 5, "score": 89}, "score"),
        ({"decision_number": "=HYPERLINK(1)"}, "decision_number"),
        ({"decision_number": "12\x00/QĐ"}, "decision_number"),
        ({"decision_number": ""}, "decision_number"),
        ({"decision_date": date(2999, 1, 1)}, "decision_date"),
        ({"part_scores": {"A": 41}}, "part_a"),
        ({"part_scores": {"D": 1}}, "part_scores"),
        ({"score": 60, "part_scores": {"A": 30, "B": 20, "C": 20}}, "score"),
        ({"valid_to": date(2020, 1, 1)}, "valid_to"),
        ({"authority": "king"}, "authority"),
        ({"kind": "other"}, "kind"),
    ],
)
def test_bad_input_is_refused_with_its_field(app, new_product, in_tenant, values, field):
    product_id = new_product()
    with in_tenant():
        arguments = {"stars": 3, "decision_number": "1/QĐ", "decision_date": date(2024, 3, 1), **values}
        with pytest.raises(certs.CertificateError) as error:
            certs.certificate_record(_product(product_id), **arguments)
        assert error.value.field == field
        db.session.rollback()


def test_score_bands_and_parts(app, new_product, in_tenant):
    assert [certs.stars_for_score(s) for s in (49.99, 50, 69.99, 70, 89.99, 90, 100)] == [None, 3, 3, 4, 4, 5, 5]
    product_id = new_product()
    with in_tenant():
        cert, _ = certs.certificate_record(
            _product(product_id),
            stars=4,
            part_scores={"A": 30, "B": 20, "C": "25,5"},
            decision_number="3/QĐ",
            decision_date=date(2024, 3, 1),
        )
        assert cert.score == Decimal("75.50")
        assert cert.part_scores == {"A": "30.00", "B": "20.00", "C": "25.50"}
        db.session.rollback()
