"""Issue 11: the import writes its rows in batches (one SAVEPOINT each, set-wise) and keeps every guarantee.

A row is in completely or not at all, the report names each refused row by its Excel row number, a re-import
of the same file creates and changes nothing, the audit log gets the entries the row-by-row writer wrote, and
certificates follow the certificate service's rules. Batches are made small here (BATCH patched to 10) so that
a few dozen rows span several of them; every test rolls back.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditEntry
from app.certification.models import Certificate
from app.certification.services import certificate_record
from app.exchange import writer
from app.exchange.writer import import_workbook
from app.extensions import db
from app.inspection.services import PENDING
from app.registry.models import Producer, Product
from tenants.context import tenant_scope
from tests.exchange.test_import import with_a_phantom_product_set, xlsx
from tests.exchange.workbooks import certified_list, certified_rows

ROWS, PRODUCERS = 25, 8  # 20 3★ and 5 4★ products of 8 producers: three batches of 10, 10 and 5


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(writer, "BATCH", 10)


def _prefix() -> str:
    return f"B{uuid.uuid4().hex[:6]}"


def _edited(data: bytes, edits: dict[tuple[int, str], object]) -> bytes:
    """The workbook with cells changed: (Excel row, header) → value."""
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[2]]
    for (row, header), value in edits.items():
        sheet.cell(row=row, column=headers.index(header) + 1, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _count(model, prefix: str) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.name.like(f"{prefix} %")))


def _certificates(prefix: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Certificate)
        .join(Product, Product.id == Certificate.product_id)
        .where(Product.name.like(f"{prefix} %"))
    )


def _audit() -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        select(AuditEntry.entity, AuditEntry.action, func.count()).group_by(AuditEntry.entity, AuditEntry.action)
    ).all()
    return {(entity, action): n for entity, action, n in rows}


def _chain(product_name: str, order) -> list[tuple]:
    """(decision number, kind, superseded on) of the product's certificates, in `order`."""
    return [
        tuple(c)
        for c in db.session.execute(
            select(Certificate.decision_number, Certificate.kind, Certificate.superseded_on)
            .join(Product, Product.id == Certificate.product_id)
            .where(Product.name == product_name)
            .order_by(order)
        )
    ]


def _delta(before: dict, after: dict) -> dict:
    return {
        k: after.get(k, 0) - before.get(k, 0)
        for k in after.keys() | before.keys()
        if after.get(k, 0) != before.get(k, 0)
    }


def test_a_batch_with_one_bad_row_reports_it_and_writes_the_others(app, tenants, monkeypatch):
    p = _prefix()
    rows = certified_rows(p, three=20, four=5, producers=PRODUCERS)
    # Row 14 (the second batch) names a star the certificate rules refuse; its producer's other rows are fine.
    data = _edited(certified_list(rows), {(14, "Hạng sao"): "6 sao"})
    one_by_one = []
    monkeypatch.setattr(writer._Importer, "_one_row", lambda self, row, cells: one_by_one.append(row))
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        before = _audit()
        report = import_workbook(data, as_of=date(2020, 12, 31))
        assert report.rows == ROWS and report.failed_rows == [14]
        assert [(e.row_number, e.column_header) for e in report.errors] == [(14, "Hạng sao")]
        assert (report.created_producers, report.created_products, report.certificates) == (
            PRODUCERS,
            ROWS - 1,
            ROWS - 1,
        )
        assert (report.updated_producers, report.updated_products, report.unchanged) == (0, 0, 0)
        assert (_count(Producer, p), _count(Product, p), _certificates(p)) == (PRODUCERS, ROWS - 1, ROWS - 1)
        assert db.session.scalar(select(func.count()).where(Product.name == rows[11].product)) == 0
        # Refused while it was read: no batch had to go again row by row.
        assert one_by_one == []
        assert _delta(before, _audit()) == {
            ("producers", "create"): PRODUCERS,
            ("products", "create"): ROWS - 1,
            ("certificates", "create"): ROWS - 1,
        }
        db.session.rollback()


def test_a_row_only_the_database_refuses_sends_its_batch_row_by_row(app, tenants, monkeypatch):
    """A product set the lookups know but the database does not (a foreign key only PostgreSQL checks): the batch
    rolls back and goes again row by row; that row is refused, its batch's other rows and the next batches are in.
    The refused row's new producer is not kept for the later rows of the same producer: the next one creates it."""
    with_a_phantom_product_set(monkeypatch)
    one_by_one = []
    real_one_row = writer._Importer._one_row

    def spied(self, row, cells):
        one_by_one.append(row)
        return real_one_row(self, row, cells)

    monkeypatch.setattr(writer._Importer, "_one_row", spied)
    p = _prefix()
    rows = certified_rows(p, three=20, four=5, producers=PRODUCERS)
    # A new producer whose first row (Excel 15, the second batch) is refused; its rows 17 (same batch) and 23.
    newcomer = {"producer": f"{p} Chủ thể 99", "commune": rows[0].commune, "commune_code": rows[0].commune_code}
    newcomer["district"] = rows[0].district
    for i in (12, 14, 20):
        rows[i] = replace(rows[i], **newcomer)
    data = _edited(certified_list(rows), {(15, "Bộ sản phẩm"): "IX.9.9"})
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        before = _audit()
        report = import_workbook(data, as_of=date(2020, 12, 31))
        assert [(e.row_number, e.column_header) for e in report.errors] == [(15, None)]
        assert report.errors[0].message.startswith("Không lưu được dòng này")
        assert one_by_one == list(range(13, 23))  # the second batch only
        assert (report.created_producers, report.created_products, report.certificates) == (
            PRODUCERS + 1,
            ROWS - 1,
            ROWS - 1,
        )
        assert (report.updated_producers, report.updated_products, report.unchanged) == (0, 0, 0)
        assert (_count(Producer, p), _count(Product, p), _certificates(p)) == (PRODUCERS + 1, ROWS - 1, ROWS - 1)
        assert db.session.scalar(select(func.count()).where(Product.name == rows[12].product)) == 0
        newcomer_products = db.session.scalars(
            select(Product.name)
            .join(Producer, Producer.id == Product.producer_id)
            .where(Producer.name == newcomer["producer"])
        ).all()
        assert sorted(newcomer_products) == sorted([rows[14].product, rows[20].product])
        # Nothing of the refused row reached the audit log either.
        assert _delta(before, _audit()) == {
            ("producers", "create"): PRODUCERS + 1,
            ("products", "create"): ROWS - 1,
            ("certificates", "create"): ROWS - 1,
        }
        db.session.rollback()


def test_a_certificate_the_service_refuses_at_writing_refuses_its_row_only(app, tenants):
    """A correction is checked by the certificate service against the recorded certificate, at writing: a score
    out of the recorded star's band fails the batch, which goes again row by row; the row is refused on its column."""
    p = _prefix()
    rows = certified_rows(p, three=20, four=5, producers=PRODUCERS)
    data = certified_list(rows)
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        assert import_workbook(data, as_of=date(2020, 12, 31)).errors == []
        # Row 5 (3★, score 64.5) now says 75.5: not a 3★ score. Row 6 says 66.5 instead of 51.5: a correction.
        report = import_workbook(_edited(data, {(5, "Điểm"): 75.5, (6, "Điểm"): 66.5}), as_of=date(2020, 12, 31))
        assert [(e.row_number, e.column_header) for e in report.errors] == [(5, "Điểm")]
        assert "không khớp hạng 3 sao" in report.errors[0].message
        assert (report.created_products, report.updated_products, report.unchanged) == (0, 1, ROWS - 2)
        scores = dict(
            db.session.execute(
                select(Product.name, Certificate.score)
                .join(Certificate, Certificate.product_id == Product.id)
                .where(Product.name.in_([rows[2].product, rows[3].product]))
            ).all()
        )
        assert scores == {rows[2].product: Decimal("64.50"), rows[3].product: Decimal("66.50")}
        db.session.rollback()


def test_a_reimport_creates_and_changes_nothing_not_even_the_audit_log(app, tenants):
    p = _prefix()
    data = certified_list(certified_rows(p, three=20, four=5, producers=PRODUCERS))
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        first = import_workbook(data, as_of=date(2020, 12, 31))
        assert (first.created_producers, first.created_products, first.certificates) == (PRODUCERS, ROWS, ROWS)
        counts = (_count(Producer, p), _count(Product, p), _certificates(p))
        before = _audit()
        again = import_workbook(data, as_of=date(2020, 12, 31))
        assert (again.rows, again.unchanged, again.errors, again.certificates) == (ROWS, ROWS, [], ROWS)
        assert (again.created_producers, again.created_products) == (0, 0)
        assert (again.updated_producers, again.updated_products) == (0, 0)
        assert (_count(Producer, p), _count(Product, p), _certificates(p)) == counts == (PRODUCERS, ROWS, ROWS)
        assert _delta(before, _audit()) == {}
        db.session.rollback()


def test_audit_entries_are_those_the_flush_hook_writes(app, tenants):
    """One entry per record and row, with the columns the ORM's flush hook logs: a new producer, product and
    certificate each; a producer changed on two rows of one file twice; a product's second decision in the same
    file creates its certificate and supersedes the first (the service's chain), both audited."""
    p = _prefix()
    rows = certified_rows(p, three=20, four=5, producers=PRODUCERS)
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        before = _audit()
        report = import_workbook(certified_list(rows), as_of=date(2020, 12, 31))
        assert report.errors == []
        assert _delta(before, _audit()) == {
            ("producers", "create"): PRODUCERS,
            ("products", "create"): ROWS,
            ("certificates", "create"): ROWS,
        }
        # The same columns as the entries of records the ORM creates (its flush hook writes those).
        producer = Producer(name=f"{p} ORM", kind="htx")
        db.session.add(producer)
        db.session.flush()
        product = Product(name=f"{p} ORM SP", producer_id=producer.id)
        db.session.add(product)
        db.session.flush()
        certificate_record(
            product, stars=3, decision_number="1/QĐ-UBND", decision_date=date(2020, 1, 2), source="import"
        )
        db.session.flush()
        for entity in ("producers", "products", "certificates"):
            orm, imported = db.session.scalars(
                select(AuditEntry.changes)
                .where(AuditEntry.entity == entity, AuditEntry.action == "create")
                .order_by(AuditEntry.id.desc())
                .limit(2)
            ).all()
            assert set(orm) == set(imported), entity
        imported = db.session.scalar(
            select(AuditEntry.changes)
            .where(AuditEntry.entity == "producers", AuditEntry.action == "create")
            .order_by(AuditEntry.id.desc())
            .offset(1)
            .limit(1)
        )
        assert imported["name"] == [None, f"{p} Chủ thể 7"] and imported["kind"] == [None, "enterprise"]
        assert imported["address"] == [None, ""] and imported["phone"] == [None, None]

        # A second file: producer 0 gets an address on its first row and a phone on its second one (two updates,
        # two entries); product 0 a later decision (4★, 2022); everything else as it was.
        rows_of_0 = [i for i, r in enumerate(rows) if r.producer == f"{p} Chủ thể 0"]
        data = certified_list(rows)
        book = load_workbook(io.BytesIO(data))
        sheet = book.worksheets[0]
        headers = [c.value for c in sheet[2]]
        sheet.cell(row=2, column=len(headers) + 1, value="Địa chỉ")
        sheet.cell(row=2, column=len(headers) + 2, value="Điện thoại")
        sheet.cell(row=rows_of_0[0] + 3, column=len(headers) + 1, value="Thôn Đông")
        sheet.cell(row=rows_of_0[1] + 3, column=len(headers) + 2, value="0228 3855 123")
        later = [cell.value for cell in sheet[3]]
        later[headers.index("Hạng sao")] = "4 sao"
        later[headers.index("Điểm")] = 80.5
        later[headers.index("Số quyết định công nhận")] = "77/QĐ-UBND"
        later[headers.index("Ngày quyết định")] = date(2022, 6, 1)
        sheet.append(later)
        buffer = io.BytesIO()
        book.save(buffer)
        before = _audit()
        report = import_workbook(buffer.getvalue(), as_of=date(2022, 12, 31))
        assert report.errors == [] and report.rows == ROWS + 1
        assert (report.updated_producers, report.updated_products, report.unchanged) == (1, 1, ROWS - 2)
        assert _delta(before, _audit()) == {
            ("producers", "update"): 2,
            ("certificates", "create"): 1,
            ("certificates", "update"): 1,
        }
        assert _chain(rows[0].product, Certificate.decision_date) == [
            (rows[0].decision_no, "new", date(2022, 6, 1)),
            ("77/QĐ-UBND", "upgrade", None),
        ]
        db.session.rollback()


def test_certificates_recorded_set_wise_queue_inspection_scheduling_after_commit(app, tenants):
    p = _prefix()
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        db.session.info.pop(PENDING, None)
        report = import_workbook(certified_list(certified_rows(p, three=3, four=0, producers=2)))
        assert report.certificates == 3
        # Told through certificate_changed, as certificate_record tells it: one scheduling after commit.
        assert db.session.info[PENDING] == {tenants["nam-dinh"]}
        kinds = db.session.scalars(
            select(Certificate.kind)
            .join(Product, Product.id == Certificate.product_id)
            .where(Product.name.like(f"{p} %"))
        ).all()
        assert kinds == ["new", "new", "new"]
        db.session.rollback()
        assert PENDING not in db.session.info


def test_a_row_that_ends_before_its_required_cells_is_reported_not_a_crash(app, tenants):
    """Excel stores a row up to its last filled cell: the required columns after it are missing, each reported."""
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        report = import_workbook(xlsx([{"Tên sản phẩm*": f"{_prefix()} Ngắn", "Bộ sản phẩm*": "I.1.1"}]))
        assert [(e.row_number, e.column_header, e.message) for e in report.errors] == [
            (2, "Tên chủ thể*", "Thiếu tên chủ thể"),
            (2, "Loại hình chủ thể*", "Thiếu loại hình chủ thể"),
        ]
        assert (report.rows, report.created_products) == (1, 0)
        db.session.rollback()


def test_new_decisions_of_known_products_are_recorded_set_wise_by_the_certificate_rules(app, tenants, monkeypatch):
    """A later list: ten 3★ products re-recognised at 4★ in 2022 (upgrades) and, on its first row, an older decision
    of product 0 found in an archive (2019-01-05, before its first one). Kinds and chains as certificate_record makes
    them, each re-link audited as an update."""
    p = _prefix()
    rows = certified_rows(p, three=20, four=5, producers=PRODUCERS)
    backfill = replace(rows[0], decision_no="5/QĐ-UBND", decision_date=date(2019, 1, 5))
    upgrades = [
        replace(r, stars=4, score=r.score + 20, decision_no=f"9{r.decision_no}", decision_date=date(2022, 6, 1))
        for r in rows[:10]
    ]
    one_set = {(n, "Bộ sản phẩm"): "I.1.1" for n in range(3, 3 + ROWS)}  # a product's rows agree on its set
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        assert import_workbook(_edited(certified_list(rows), one_set), as_of=date(2020, 12, 31)).errors == []
        calls = []
        real = writer.certificates_record_new

        def spied(items, **kw):
            calls.append(len(items))
            return real(items, **kw)

        monkeypatch.setattr(writer, "certificates_record_new", spied)
        before = _audit()
        later = _edited(certified_list([backfill, *upgrades]), {k: v for k, v in one_set.items() if k[0] < 14})
        report = import_workbook(later, as_of=date(2022, 12, 31))
        assert report.errors == [] and report.rows == 11
        assert calls == [10]  # the first batch together; the last row, alone in its batch, by certificate_record
        assert (report.updated_products, report.unchanged, report.certificates) == (11, 0, 11)
        assert _delta(before, _audit()) == {("certificates", "create"): 11, ("certificates", "update"): 11}
        assert _chain(rows[0].product, Certificate.valid_from) == [
            ("5/QĐ-UBND", "new", rows[0].decision_date),
            (rows[0].decision_no, "new", date(2022, 6, 1)),
            (f"9{rows[0].decision_no}", "upgrade", None),
        ]
        kinds = db.session.scalars(
            select(Certificate.kind).where(
                Certificate.decision_date == date(2022, 6, 1),
                Certificate.product_id.in_(select(Product.id).where(Product.name.like(f"{p} %"))),
            )
        ).all()
        assert kinds == ["upgrade"] * 10
        db.session.rollback()


def test_the_import_checks_its_products_and_producers_keys_once_at_the_end(app, tenants, monkeypatch):
    """0022: the two keys an import checks most wait for the end of the batches (inside each SAVEPOINT they cost
    more with every batch), then are checked in the import's own transaction. A product deleted by someone else
    meanwhile refuses the whole file: nothing of it stays."""
    p = _prefix()
    data = certified_list(certified_rows(p, three=20, four=5, producers=PRODUCERS))
    run = writer._Importer.run
    seen = {}

    def run_then_lose_a_product(self, rows, progress=None):
        run(self, rows, progress)
        # What the batches wrote was not checked yet: a certificate of a product that is gone goes in unchecked.
        product_id, certificate_id = db.session.execute(
            select(Certificate.product_id, Certificate.id).join(Product).where(Product.name.like(f"{p} %")).limit(1)
        ).one()
        db.session.execute(Certificate.__table__.update().values(product_id=-1).where(Certificate.id == certificate_id))
        seen["product"] = product_id

    monkeypatch.setattr(writer._Importer, "run", run_then_lose_a_product)
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        with pytest.raises(writer.WorkbookError, match="vừa bị xoá trong lúc nhập"):
            import_workbook(data, as_of=date(2020, 12, 31))
        db.session.rollback()
        assert seen["product"] and (_count(Producer, p), _count(Product, p), _certificates(p)) == (0, 0, 0)
    monkeypatch.setattr(writer._Importer, "run", run)
    with app.app_context(), tenant_scope(tenants["nam-dinh"]):
        report = import_workbook(data, as_of=date(2020, 12, 31))
        assert (report.created_producers, report.created_products, report.certificates) == (PRODUCERS, ROWS, ROWS)
        # Outside the import the keys are checked at once, as before.
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.execute(
                Certificate.__table__.update()
                .values(product_id=-1)
                .where(Certificate.product_id.in_(select(Product.id).where(Product.name.like(f"{p} %"))))
            )
        db.session.rollback()
