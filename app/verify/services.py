"""Public verification of a certificate (the QR target) and the certificate PDF.

The code printed in the QR (`certificates.public_code`) is global: whoever scans it knows no province.
The lookup therefore crosses tenants, but never through the web role's own rights (it has no BYPASSRLS):
it calls `verify.certificate_public(code)`, a SECURITY DEFINER function owned by the roll-up role
(migration 0008) that returns the public fields of exactly one certificate. Status is computed here,
live, with certification's rules (`certificate_status`), so a revocation or a newer certificate shows
on the next request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text

from app.auth.policy import own_producer_id
from app.certification.models import Certificate
from app.certification.services import AUTHORITY_LABELS, CertificateStatus, certificate_status
from app.core import clock
from app.extensions import db
from app.registry.models import Producer, Product
from tenants.models import current_tenant

# Codes are url-safe random strings (see certification); anything else is refused before any query.
CODE = re.compile(r"[A-Za-z0-9_-]{16,64}")

LOOKUP_SQL = text("SELECT * FROM verify.certificate_public(:code)")


@dataclass(frozen=True)
class PublicCertificate:
    """What anyone may know of a certificate: the fields a package's buyer needs, nothing internal."""

    code: str
    product_name: str
    producer_name: str
    province_name: str
    province_name_en: str
    stars: int
    decision_number: str
    decision_date: date
    authority: str
    valid_from: date
    valid_to: date
    revoked_on: date | None
    revoke_decision_number: str | None
    superseded_on: date | None
    successor_code: str | None
    successor_stars: int | None
    successor_decision_number: str | None
    successor_decision_date: date | None

    @property
    def authority_label(self) -> str:
        return str(AUTHORITY_LABELS.get(self.authority, self.authority))


def verification_code_is_wellformed(code: str) -> bool:
    return isinstance(code, str) and CODE.fullmatch(code) is not None


def verification_lookup(code: str) -> PublicCertificate | None:
    """The certificate with this public code in any province, or None (unknown or malformed code).

    One statement on an autocommit connection: no transaction, no tenant setting, no ORM hooks.
    """
    if not verification_code_is_wellformed(code):
        return None
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        row = connection.execute(LOOKUP_SQL, {"code": code}).mappings().first()
    return PublicCertificate(**row) if row is not None else None


def verification_status(record: PublicCertificate, on: date | None = None) -> CertificateStatus:
    """Live status with certification's rules (the record carries the same dates as a Certificate)."""
    return certificate_status(record, on or clock.today())


# ----------------------------------------------------------------------------- PDF (tenant side)


@dataclass(frozen=True)
class CertificateDocument:
    certificate: Certificate
    product: Product
    producer: Producer
    province_name: str


def certificate_document_get(user, certificate_id: int) -> CertificateDocument | None:
    """A certificate the user may download, with what its PDF prints; None when missing, foreign or
    not the user's (a producer reaches only its own producer's certificates)."""
    stmt = (
        select(Certificate, Product, Producer)
        .join(Product, (Product.id == Certificate.product_id) & (Product.tenant_id == Certificate.tenant_id))
        .join(Producer, (Producer.id == Product.producer_id) & (Producer.tenant_id == Product.tenant_id))
        .where(Certificate.id == certificate_id)
    )
    own = own_producer_id(user, "certificate.download")
    if own is not None:
        stmt = stmt.where(Product.producer_id == own)
    row = db.session.execute(stmt).first()
    if row is None:
        return None
    cert, product, producer = row
    return CertificateDocument(cert, product, producer, current_tenant().name)
