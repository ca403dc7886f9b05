"""The registry's exports in the import layout, so that an exported list re-imports unchanged.

Every export writes the template's headers in the template's order: producers and products one row
per product with its valid certificate (a producer without products gets one row with empty product
cells, which the import reads as producer-only); certificates one row per certificate, followed by
report-only columns (status on the chosen day, days left, revocation) that the import names and ignores. Units are written with their district ("Xã Tân Sơn, Huyện Lục Ngạn") so that
namesakes resolve; product sets by code; kinds and trademark status in the template's words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.services import CertificateRow, product_current_certificate
from app.core import clock
from app.exchange.columns import COLUMNS, REPORT_ONLY_HEADERS
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from tenants.models import AdminUnit

KIND_WORDS = {
    "htx": "Hợp tác xã",
    "enterprise": "Doanh nghiệp",
    "coop_group": "Tổ hợp tác",
    "household": "Hộ kinh doanh",
}
TRADEMARK_WORDS = {
    "none": "Chưa có",
    "applied": "Đang đăng ký",
    "registered": "Đã đăng ký",
    "collective": "Nhãn hiệu tập thể",
    "geographical_indication": "Chỉ dẫn địa lý",
}
AUTHORITY_WORDS = {"province": "UBND tỉnh", "district": "UBND huyện", "ministry": "Bộ"}
EXPORT_HEADERS = [c.template_header for c in COLUMNS]


def export_rows(pairs: Iterable[tuple], certificates: Iterable[Certificate | None] | None = None) -> Iterator[list]:
    """One row per (product, producer, …), in the template's column order, with the certificate given for the
    row (`certificates`, in step with `pairs`) or else the product's valid certificate today."""
    today = clock.today()
    chosen = iter(certificates) if certificates is not None else None
    units = {u.id: u for u in db.session.scalars(select(AdminUnit))}
    set_codes = dict(db.session.execute(select(TaxonomyNode.id, TaxonomyNode.code)).all())

    def place(unit_id: int | None) -> str | None:
        unit = units.get(unit_id) if unit_id else None
        if unit is None:
            return None
        parent = units.get(unit.parent_id)
        return f"{unit.name}, {parent.name}" if parent is not None else unit.name

    for number, (product, producer, *_rest) in enumerate(pairs, start=1):
        values = {
            "index": number,
            "producer_name": producer.name,
            "kind": KIND_WORDS.get(producer.kind),
            "registration_no": producer.registration_no,
            "producer_code": producer.code,
            "address": producer.address or None,
            "unit": place(producer.unit_id),
            "representative": producer.representative or None,
            "phone": producer.phone,
            "email": producer.email,
            "capital": producer.capital_vnd,
            "workforce": producer.workforce,
        }
        if product is not None:
            values |= {
                "product_name": product.name,
                "product_code": product.code,
                "product_set": set_codes.get(product.product_set_id),
                "product_unit": place(product.unit_id),
                "raw_material_area": product.raw_material_area or None,
                "capacity": product.capacity or None,
                "markets": product.markets or None,
                "export_countries": ", ".join(product.export_countries or []) or None,
                "traceability": product.traceability or None,
                "trademark": TRADEMARK_WORDS.get(product.trademark_status),
            }
            cert = next(chosen) if chosen is not None else product_current_certificate(product, on=today)
            if cert is not None:
                parts = cert.part_scores or {}
                values |= {
                    "stars": cert.stars,
                    "decision_no": cert.decision_number,
                    "decision_date": cert.decision_date,
                    "score": cert.score,
                    "score_a": Decimal(parts["A"]) if "A" in parts else None,
                    "score_b": Decimal(parts["B"]) if "B" in parts else None,
                    "score_c": Decimal(parts["C"]) if "C" in parts else None,
                    "valid_from": cert.valid_from,
                    "valid_to": cert.valid_to,
                    "authority": AUTHORITY_WORDS.get(cert.authority),
                }
        yield [values.get(c.key) for c in COLUMNS]


def producers_with_products(producers: Iterable[Producer]) -> Iterator[tuple[Product | None, Producer]]:
    """Each producer with each of its products (or alone when it has none), in the given order."""
    producers = list(producers)
    by_producer: dict[int, list[Product]] = {}
    ids = [p.id for p in producers]
    for product in db.session.scalars(select(Product).where(Product.producer_id.in_(ids)).order_by(Product.name)):
        by_producer.setdefault(product.producer_id, []).append(product)
    for producer in producers:
        for product in by_producer.get(producer.id) or [None]:
            yield product, producer


def certificate_export_headers(on) -> list[str]:
    """The template's headers, then the report-only ones (the status column names its day in brackets,
    which the import drops when it matches headers)."""
    status, *others = (vi for vi, _en in REPORT_ONLY_HEADERS)
    return [*EXPORT_HEADERS, f"{status} ({on.strftime('%d/%m/%Y')})", *others]


def certificate_export_rows(rows: list[CertificateRow]) -> Iterator[list]:
    """One row per certificate (a product's whole chain, revoked ones too) in the template's layout, then
    its status on the day, days left and revocation."""
    template = export_rows(((r.product, r.producer) for r in rows), certificates=(r.certificate for r in rows))
    for row, values in zip(rows, template, strict=True):
        cert = row.certificate
        yield [*values, row.status.label, row.status.days_left, cert.revoke_reason, cert.revoke_decision_number]
