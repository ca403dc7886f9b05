"""Set-wise writes (app/core/bulk.py) and their audit entries (audited_insert, audited_update): the values stored
are those an ORM flush stores, the ids come back in the rows' order, row-level security holds, and each change
is audited as the flush hook audits it."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.audit.models import AuditEntry
from app.audit.services import audited_insert, audited_update
from app.certification.models import Certificate
from app.certification.services import certificate_first_values, certificates_record_first
from app.core.bulk import column_defaults, insert_rows
from app.extensions import db
from app.registry.models import Producer, Product
from tenants.context import tenant_scope


def _producer_rows(prefix: str, n: int) -> list[dict]:
    return [
        {**column_defaults(Producer), "name": f"{prefix} {i}", "kind": "htx", "capital_vnd": 10**12 + i}
        for i in range(n)
    ]


def test_ids_come_back_in_the_rows_order_and_values_are_stored_as_given(app, tenants):
    prefix = f"BK{uuid.uuid4().hex[:6]}"
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        ids = audited_insert(Producer, _producer_rows(prefix, 30))
        stored = db.session.execute(
            select(Producer.id, Producer.name, Producer.capital_vnd, Producer.address).where(Producer.id.in_(ids))
        ).all()
        assert {row.id: (row.name, row.capital_vnd, row.address) for row in stored} == {
            row_id: (f"{prefix} {i}", 10**12 + i, "") for i, row_id in enumerate(ids)
        }
        producer_id = ids[0]
        values = {
            **column_defaults(Product),
            "producer_id": producer_id,
            "name": f'{prefix} "quoted", \\ and ₫',
            "export_countries": ["Nhật Bản", 'Hàn "Quốc"'],
            "annual_output": Decimal("12.50"),
        }
        [product_id] = audited_insert(Product, [values])
        product = db.session.get(Product, (tenants["bac-giang"], product_id))
        assert (product.name, product.export_countries, product.annual_output, product.trademark_status) == (
            values["name"],
            ["Nhật Bản", 'Hàn "Quốc"'],
            Decimal("12.50"),
            "none",
        )
        entry = db.session.scalar(
            select(AuditEntry.changes).where(AuditEntry.entity == "products", AuditEntry.entity_id == product_id)
        )
        assert entry["export_countries"] == [None, ["Nhật Bản", 'Hàn "Quốc"']]
        assert entry["annual_output"] == [None, "12.50"] and entry["other_units"] == [None, ""]
        assert entry["unit_id"] == [None, None] and "created_at" not in entry and "id" not in entry
        db.session.rollback()


def test_row_level_security_refuses_another_tenants_row(app, tenants):
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        rows = [{"tenant_id": tenants["ha-tinh"], **row} for row in _producer_rows("BKX", 1)]
        with pytest.raises(DBAPIError, match="row-level security"):
            insert_rows(Producer, rows)
        db.session.rollback()


def test_two_changes_of_one_row_are_two_updates_in_order_and_two_entries(app, tenants):
    prefix = f"BU{uuid.uuid4().hex[:6]}"
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        first, second = audited_insert(Producer, _producer_rows(prefix, 2))
        audited_update(
            Producer,
            [
                (first, {"name": (f"{prefix} 0", f"{prefix} HTX A")}),
                (second, {"phone": (None, "0204 111")}),
                (first, {"name": (f"{prefix} HTX A", f"{prefix} htx a")}),  # the same attribute again: applied last
                (second, {"address": ("", "")}),  # no change: neither written nor logged
            ],
        )
        db.session.expire_all()
        assert db.session.get(Producer, (tenants["bac-giang"], first)).name == f"{prefix} htx a"
        assert db.session.get(Producer, (tenants["bac-giang"], second)).phone == "0204 111"
        entries = db.session.execute(
            select(AuditEntry.entity_id, AuditEntry.changes)
            .where(
                AuditEntry.entity == "producers",
                AuditEntry.action == "update",
                AuditEntry.entity_id.in_([first, second]),
            )
            .order_by(AuditEntry.id)
        ).all()
        assert [tuple(e) for e in entries] == [
            (first, {"name": [f"{prefix} 0", f"{prefix} HTX A"]}),
            (second, {"phone": [None, "0204 111"]}),
            (first, {"name": [f"{prefix} HTX A", f"{prefix} htx a"]}),
        ]
        db.session.rollback()


def test_a_json_column_stores_none_as_json_null_as_the_orm_does(app, tenants):
    """Certificate.part_scores (JSONB, none_as_null False): None is stored as JSON null, as a flush stores it."""
    prefix = f"BJ{uuid.uuid4().hex[:6]}"
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        [producer_id] = audited_insert(Producer, _producer_rows(prefix, 1))
        [product_id] = audited_insert(
            Product, [{**column_defaults(Product), "producer_id": producer_id, "name": prefix}]
        )
        values = certificate_first_values(stars=3, decision_number="1/QĐ-UBND", decision_date=date(2020, 1, 2))
        [cert_id] = certificates_record_first([(product_id, values)])
        is_json_null = db.session.scalar(select(Certificate.part_scores.is_not(None)).where(Certificate.id == cert_id))
        assert is_json_null  # JSON null, not SQL NULL
        cert = db.session.get(Certificate, (tenants["bac-giang"], cert_id))
        assert (cert.kind, cert.valid_to, len(cert.public_code)) == ("new", date(2023, 1, 2), 32)
        db.session.rollback()
