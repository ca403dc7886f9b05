"""The certificates export is the import layout, one row per certificate (a product's chain, revoked
ones too) followed by report-only columns: it re-imports unchanged, and an edit in it is applied."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from app.certification.models import Certificate
from app.certification.services import certificate_revoke
from app.exchange.export import EXPORT_HEADERS
from app.exchange.writer import import_workbook
from app.extensions import db
from app.registry.models import Producer, Product
from tenants.context import tenant_scope
from tests.conftest import create_user, login
from tests.factories import certificate_recorded, product_set_id

CHAIN = "=1+2 Mật ong bạc hà"  # formula-like text stays text through the export and back


def _province(app, fresh_tenant):
    """A province of its own: one product with a chain (2019 3★, 2022 4★), one whose certificate is revoked."""
    tenant_id, slug = fresh_tenant
    with app.app_context(), tenant_scope(tenant_id):
        producer = Producer(name="HTX Ong Mật", kind="htx", registration_no="4700123456", phone="0912345678")
        db.session.add(producer)
        db.session.flush()
        chain = Product(producer_id=producer.id, name=CHAIN, product_set_id=product_set_id("I.1.1"), markets="Hà Nội")
        revoked = Product(producer_id=producer.id, name="Miến dong", product_set_id=product_set_id("I.1.1"))
        db.session.add_all([chain, revoked])
        db.session.commit()
        chain_id, revoked_id = chain.id, revoked.id
    certificate_recorded(
        app, tenant_id, chain_id, stars=3, decision_number="15/QĐ-UBND", decision_date=date(2019, 5, 6), score=55
    )
    certificate_recorded(
        app, tenant_id, chain_id, stars=4, decision_number="88/QĐ-UBND", decision_date=date(2022, 6, 1), score=72
    )
    cert_id = certificate_recorded(
        app, tenant_id, revoked_id, stars=3, decision_number="20/QĐ-UBND", decision_date=date(2021, 3, 1), score=60
    )
    with app.app_context(), tenant_scope(tenant_id):
        certificate_revoke(
            db.session.scalar(select(Certificate).where(Certificate.id == cert_id)),
            "Vi phạm an toàn thực phẩm",
            "99/QĐ-UBND",
            date(2023, 1, 5),
        )
        db.session.commit()
    user_id, email = create_user(app, tenant_id)
    client = app.test_client()
    assert login(client, f"/{slug}/login", email).status_code == 302
    return tenant_id, client.get(f"/{slug}/certificates/export.xlsx?on=01/01/2024")


def _state(tenant_id):
    """Every certificate of the province as (product, decision, stars, score, revoked reason), and the products."""
    certs = db.session.execute(
        select(
            Product.name, Certificate.decision_number, Certificate.stars, Certificate.score, Certificate.revoke_reason
        )
        .join(Product, Product.id == Certificate.product_id)
        .order_by(Certificate.decision_number)
    ).all()
    products = db.session.scalars(select(Product.name).order_by(Product.name)).all()
    return [tuple(c) for c in certs], products


def test_the_certificates_export_re_imports_unchanged(app, fresh_tenant):
    tenant_id, response = _province(app, fresh_tenant)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert [c.data_type for row in sheet.iter_rows() for c in row if c.data_type == "f"] == []
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[: len(EXPORT_HEADERS)] == EXPORT_HEADERS
    assert header[len(EXPORT_HEADERS) :] == [
        "Tình trạng (01/01/2024)",
        "Số ngày còn lại",
        "Lý do thu hồi",
        "Quyết định thu hồi",
    ]
    data = {(r[header.index("Tên sản phẩm*")], r[header.index("Số quyết định công nhận")]): r for r in rows[1:]}
    assert sorted(data) == [(CHAIN, "15/QĐ-UBND"), (CHAIN, "88/QĐ-UBND"), ("Miến dong", "20/QĐ-UBND")]
    assert data[("Miến dong", "20/QĐ-UBND")][len(EXPORT_HEADERS) :] == (
        "Đã thu hồi",
        None,
        "Vi phạm an toàn thực phẩm",
        "99/QĐ-UBND",
    )
    assert data[(CHAIN, "15/QĐ-UBND")][header.index("Loại hình chủ thể*")] == "Hợp tác xã"
    with app.app_context(), tenant_scope(tenant_id):
        before = _state(tenant_id)
        again = import_workbook(io.BytesIO(response.data))
        assert (again.rows, again.unchanged, again.errors, again.unknown_columns) == (3, 3, [], [])
        assert again.report_only_columns == header[len(EXPORT_HEADERS) :]
        assert (again.created_producers, again.updated_producers) == (0, 0)
        assert (again.created_products, again.updated_products, again.certificates) == (0, 0, 3)
        assert _state(tenant_id) == before
        db.session.rollback()


def test_an_edited_score_and_star_in_the_certificates_export_are_applied(app, fresh_tenant):
    tenant_id, response = _province(app, fresh_tenant)
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    decision, score, stars = (header.index(h) for h in ("Số quyết định công nhận", "Điểm", "Số sao hiện có"))
    for cells in sheet.iter_rows(min_row=2):
        if cells[decision].value == "15/QĐ-UBND":  # the older certificate of the chain: its score
            cells[score].value = 58.5
        if cells[decision].value == "20/QĐ-UBND":  # the revoked one: its star (and score) as decided
            cells[stars].value = 4
            cells[score].value = 71
    buffer = io.BytesIO()
    book.save(buffer)
    with app.app_context(), tenant_scope(tenant_id):
        edited = import_workbook(io.BytesIO(buffer.getvalue()))
        assert (edited.errors, edited.unknown_columns, edited.rows) == ([], [], 3)
        assert (edited.updated_products, edited.unchanged, edited.created_products) == (2, 1, 0)
        certs, products = _state(tenant_id)
        assert certs == [
            (CHAIN, "15/QĐ-UBND", 3, Decimal("58.50"), None),
            ("Miến dong", "20/QĐ-UBND", 4, Decimal("71.00"), "Vi phạm an toàn thực phẩm"),
            (CHAIN, "88/QĐ-UBND", 4, Decimal("72.00"), None),
        ]
        assert products == [CHAIN, "Miến dong"]
        db.session.rollback()


def _edited(response, change) -> io.BytesIO:
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    change(header, list(sheet.iter_rows(min_row=2)))
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def test_a_product_twice_is_refused_for_the_same_decision_or_contradicting_values(app, fresh_tenant):
    tenant_id, response = _province(app, fresh_tenant)
    chain_rows = []

    def same_decision(header, rows):
        chain = [r for r in rows if r[header.index("Tên sản phẩm*")].value == CHAIN]
        chain_rows.extend(r[0].row for r in chain)
        chain[1][header.index("Số quyết định công nhận")].value = chain[0][
            header.index("Số quyết định công nhận")
        ].value
        chain[1][header.index("Ngày quyết định")].value = chain[0][header.index("Ngày quyết định")].value

    def other_market(header, rows):
        chain = [r for r in rows if r[header.index("Tên sản phẩm*")].value == CHAIN]
        chain[1][header.index("Thị trường")].value = "Hải Phòng"

    with app.app_context(), tenant_scope(tenant_id):
        before = _state(tenant_id)
        report = import_workbook(_edited(response, same_decision))
        (error,) = report.errors
        assert error.row_number == chain_rows[1]
        assert (error.column_header, error.message) == (
            "Tên sản phẩm*",
            f"Sản phẩm '{CHAIN}' của chủ thể này đã có ở dòng {chain_rows[0]}",
        )
        db.session.rollback()
        report = import_workbook(_edited(response, other_market))
        assert [(e.column_header, e.message) for e in report.errors] == [
            ("Thị trường", f"Khác với dòng {chain_rows[0]} của cùng sản phẩm ('Hà Nội')")
        ]
        assert report.errors[0].row_number == chain_rows[1]
        assert (report.unchanged, report.updated_products) == (2, 0)
        db.session.rollback()
        assert _state(tenant_id) == before
