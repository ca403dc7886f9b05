"""The demo data (`make run`) gives each province certificates of every standing, once."""

from __future__ import annotations

from sqlalchemy import func, select

from app.certification.counts import certificate_counts
from app.certification.models import Certificate
from app.certification.services import certificate_status
from app.demo.seed import DEMO_CERTIFIED, _ensure_certificates
from app.extensions import db
from tenants.context import Actor, acting_as
from tenants.models import Tenant
from tests.dashboard.conftest import tenant_scope


def test_demo_certificates_are_valid_expiring_expired_and_revoked_and_seeded_once(app, fresh_province):
    _slug, tenant_id = fresh_province("bac-kan")
    with app.app_context(), acting_as(Actor("system", None, "demo seed")), tenant_scope(tenant_id):
        tenant = db.session.get(Tenant, tenant_id)
        _ensure_certificates(tenant)
        _ensure_certificates(tenant)  # idempotent
        db.session.commit()
        certs = db.session.scalars(select(Certificate)).all()
        assert len(certs) == len(DEMO_CERTIFIED) == 6
        standings = sorted(certificate_status(c).code for c in certs)
        assert standings == ["expired", "expiring", "revoked", "valid", "valid", "valid"]
        counts = certificate_counts()
        assert (counts.valid, counts.ever) == (4, 6)  # the expiring one is still valid
        assert all(r.key != "none" for r in counts.by["district"])  # every product is in a district
        assert (
            db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.revoked_on.is_not(None)))
            == 1
        )
