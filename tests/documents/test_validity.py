"""A document's own validity: given, or the requirement's usual term from the issue date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core import clock
from app.documents import services
from app.extensions import db
from tenants.context import tenant_scope
from tests.documents.conftest import pdf_bytes


def _presign(app, tenant_id, producer, requirement, **validity):
    producer_id, product_id = producer
    data = pdf_bytes()
    with app.app_context(), tenant_scope(tenant_id):
        document, _upload = services.document_presign(
            producer_id=producer_id,
            product_id=product_id,
            requirement=requirement,
            filename="a.pdf",
            content_type="application/pdf",
            size=len(data),
            uploaded_by=None,
            **validity,
        )
        db.session.rollback()
        return document


def test_a_test_report_lasts_twelve_months_from_its_issue_date(app, tenants, producer):
    document = _presign(app, tenants["bac-giang"], producer, "test_report", issued_on="2026-03-15")
    assert (document.issued_on, document.valid_until) == (date(2026, 3, 15), date(2027, 3, 15))


def test_an_explicit_end_wins_and_is_checked(app, tenants, producer):
    document = _presign(
        app, tenants["bac-giang"], producer, "test_report", issued_on="2026-03-15", valid_until="2026-09-30"
    )
    assert document.valid_until == date(2026, 9, 30)
    with pytest.raises(services.DocumentError, match="sau ngày cấp"):
        _presign(app, tenants["bac-giang"], producer, "test_report", issued_on="2026-03-15", valid_until="2026-01-01")
    with pytest.raises(services.DocumentError, match="tương lai"):
        _presign(app, tenants["bac-giang"], producer, "test_report", issued_on=clock.today() + timedelta(days=2))
    with pytest.raises(services.DocumentError, match="không hợp lệ"):
        _presign(app, tenants["bac-giang"], producer, "test_report", issued_on="15/03/2026")


def test_papers_without_a_term_stay_open_ended(app, tenants, producer):
    document = _presign(app, tenants["bac-giang"], producer, "product_story", issued_on="2026-03-15")
    assert document.valid_until is None


def test_photos_take_images_only(app, tenants, producer):
    with pytest.raises(services.DocumentError, match="chỉ nhận"):
        _presign(app, tenants["bac-giang"], producer, "product_photo")
    with pytest.raises(services.DocumentError, match="chỉ nhận"):
        _presign(app, tenants["bac-giang"], producer, "product_samples")
