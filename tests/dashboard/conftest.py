"""Fresh provinces for counting tests: a copy of a real province file under a new slug, so that the
counts of its certificates are exact whatever other tests do in the four synced provinces."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.services import certificate_record, certificate_revoke
from app.extensions import db
from app.registry.models import Producer, Product
from tenants.context import Actor, acting_as, tenant_scope
from tenants.models import AdminUnit
from tenants.sync import PROVINCES_DIR, sync_file


def province_copy(app, tmp_path, base: str) -> tuple[str, int]:
    """Sync a copy of tenants/provinces/<base>.toml as a new province; returns (slug, tenant id)."""
    slug = f"{base}-{uuid.uuid4().hex[:8]}"
    text = (PROVINCES_DIR / f"{base}.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^slug = ".*"$', f'slug = "{slug}"', text, count=1)
    text = re.sub(r'(?m)^name = "(.*)"$', rf'name = "\1 ({slug})"', text, count=1)
    path = tmp_path / f"{slug}.toml"
    path.write_text(text, encoding="utf-8")
    with app.app_context(), acting_as(Actor("system", None, "test setup")):
        report = sync_file(path)
        db.session.commit()
        from tenants.models import Tenant

        return slug, db.session.scalar(select(Tenant.id).where(Tenant.slug == report.slug))


@pytest.fixture(scope="module")
def fresh_province(app, tmp_path_factory):
    return lambda base: province_copy(app, tmp_path_factory.mktemp("provinces"), base)


def unit_id(name: str) -> int:
    """Id of a unit of the current tenant by its name."""
    return db.session.scalar(select(AdminUnit.id).where(AdminUnit.name == name))


def add_product(name: str, *, kind="htx", unit=None, producer_unit=None, product_set_id=None) -> Product:
    producer = Producer(name=f"Chủ thể {name}", kind=kind, unit_id=producer_unit)
    db.session.add(producer)
    db.session.flush()
    product = Product(producer_id=producer.id, name=name, unit_id=unit, product_set_id=product_set_id)
    db.session.add(product)
    db.session.flush()
    return product


def add_certificate(product: Product, stars: int, decided: date, *, score=None, revoked_on=None) -> Certificate:
    """A recognition decision recorded through the certificates service (default term, chain kept)."""
    cert, created = certificate_record(
        product, stars=stars, score=score, decision_number=f"{uuid.uuid4().hex[:6]}/QĐ-UBND", decision_date=decided
    )
    assert created
    if revoked_on:
        certificate_revoke(cert, "Vi phạm an toàn thực phẩm", f"{uuid.uuid4().hex[:6]}/QĐ-UBND", revoked_on)
    return cert


__all__ = ["add_certificate", "add_product", "tenant_scope", "unit_id"]
