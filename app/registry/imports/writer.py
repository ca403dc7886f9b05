"""Writing the rows: match each row's producer and product, then create or update them.

Runs inside the current tenant (the isolation hooks add tenant_id) and does not commit: the caller
commits once at the end. Rules:
- every row is validated as a whole first; a valid row is then written inside its own SAVEPOINT, so a
  row is imported completely or not at all, and a bad row is reported with its Excel row number;
- idempotent: a producer is matched by its registration number when the row gives one, else by
  (name, commune); a product by (producer, name). Names are compared NFC, case- and
  spacing-insensitively (diacritics count: "Chè" and "Chế" are different products);
- an empty optional cell keeps the stored value (the web forms may have enriched the record);
- within one file, rows of the same producer must not contradict each other, and a product may
  appear once: otherwise a re-import would flip values back and forth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.core.text import assign, name_key
from app.extensions import db
from app.registry.imports.columns import COLUMNS_BY_KEY, PRODUCER_FIELDS, PRODUCT_FIELDS, CellError, cell_text
from app.registry.imports.lookups import Lookups, load_product_sets, tenant_act
from app.registry.imports.reader import read_table
from app.registry.models import Producer, Product
from tenants.context import TenantNotSet, current_tenant_id
from tenants.models import AdminUnit


@dataclass(frozen=True)
class RowError:
    row_number: int  # as Excel shows it
    column_header: str | None  # as written in the file; None for a row-level problem
    message: str


@dataclass
class ImportReport:
    created_producers: int = 0
    updated_producers: int = 0
    created_products: int = 0
    updated_products: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # non-empty data rows read

    @property
    def failed_rows(self) -> list[int]:
        return sorted({e.row_number for e in self.errors})


def _reg_key(value: str) -> str:
    return "".join(value.split()).upper()


class _Importer:
    def __init__(self, tenant_id: int, headers: dict[str, str]):
        self.headers = headers
        self.report = ImportReport()
        self.lookups = Lookups(list(db.session.scalars(select(AdminUnit))), load_product_sets(tenant_act(tenant_id)))
        self.by_reg: dict[str, Producer] = {}
        self.by_name: dict[str, list[Producer]] = {}
        self.indexed: dict[int, tuple[str | None, str]] = {}  # producer id → (reg key, name key) indexed
        for producer in db.session.scalars(select(Producer).order_by(Producer.id)):
            self._index_producer(producer)
        self.products: dict[tuple[int, str], Product] = {}
        for product in db.session.scalars(select(Product).order_by(Product.id)):
            self.products.setdefault((product.producer_id, name_key(product.name)), product)
        self.created_producers: set[int] = set()
        self.updated_producers: set[int] = set()
        self.producer_rows: dict[int, dict[str, tuple[Any, int]]] = {}  # id → attr → (value, first row)
        self.product_rows: dict[tuple[int, str], int] = {}

    # -- indexes (updated only after a row's savepoint is released)
    def _index_producer(self, producer: Producer) -> None:
        old = self.indexed.get(producer.id)
        new = (_reg_key(producer.registration_no) if producer.registration_no else None, name_key(producer.name))
        if old == new:
            return
        if old is not None:
            if old[0] and self.by_reg.get(old[0]) is producer:
                del self.by_reg[old[0]]
            self.by_name[old[1]].remove(producer)
        if new[0]:
            self.by_reg.setdefault(new[0], producer)
        self.by_name.setdefault(new[1], []).append(producer)
        self.indexed[producer.id] = new

    def _error(self, row: int, key: str | None, message) -> None:
        header = self.headers.get(key) if key else None
        self.report.errors.append(RowError(row, header, str(message)))

    def _find_producer(self, values: dict) -> Producer | None:
        registration_no = values.get("registration_no")
        if registration_no and _reg_key(registration_no) in self.by_reg:
            return self.by_reg[_reg_key(registration_no)]
        pool = self.by_name.get(name_key(values["producer_name"]), [])
        if registration_no:  # one with another registration number is another producer
            pool = [p for p in pool if not p.registration_no]
        unit_id = values.get("unit")
        if unit_id is not None:
            same_unit = [p for p in pool if p.unit_id == unit_id]
            if same_unit:
                return same_unit[0]
            pool = [p for p in pool if p.unit_id is None]
        if len(pool) > 1:
            raise CellError(
                _(
                    "Có nhiều chủ thể tên '%(value)s'; hãy ghi mã số đăng ký kinh doanh hoặc xã/phường",
                    value=values["producer_name"],
                )
            )
        return pool[0] if pool else None

    def import_row(self, row: int, cells: dict[str, Any]) -> None:
        self.report.rows += 1
        values = self._parse(row, cells)
        if values is None:
            return
        try:
            producer = self._find_producer(values)
        except CellError as error:
            self._error(row, "producer_name", error.message)
            return
        producer_values = {attr: values[key] for key, attr in PRODUCER_FIELDS.items() if values.get(key) is not None}
        product_values = {attr: values[key] for key, attr in PRODUCT_FIELDS.items() if values.get(key) is not None}
        product_key = name_key(values["product_name"])
        product = None
        if producer is not None:
            if producer.id in self.producer_rows:
                if not self._consistent(row, producer, producer_values):
                    return
                # What an earlier row of this file set stays as it set it ("HTX A" vs "htx a").
                seen = self.producer_rows[producer.id]
                producer_values = {attr: v for attr, v in producer_values.items() if attr not in seen}
            if (producer.id, product_key) in self.product_rows:
                self._error(
                    row,
                    "product_name",
                    _(
                        "Sản phẩm '%(value)s' của chủ thể này đã có ở dòng %(row)s",
                        value=values["product_name"],
                        row=self.product_rows[(producer.id, product_key)],
                    ),
                )
                return
            product = self.products.get((producer.id, product_key))
            if product is not None and not (_differs(producer, producer_values) or _differs(product, product_values)):
                self.report.unchanged += 1  # nothing to write, so no savepoint either
                self._remember(row, producer, product, product_key, producer_values)
                return
        self._write(row, producer, producer_values, product, product_values, product_key)

    def _parse(self, row: int, cells: dict[str, Any]) -> dict[str, Any] | None:
        """Column key → parsed value for the non-empty cells; None (errors reported) if any is wrong."""
        values: dict[str, Any] = {}
        failed = False
        for key, raw in cells.items():
            column = COLUMNS_BY_KEY[key]
            text = cell_text(raw)
            if text is None:
                if column.required:
                    self._error(row, key, column.missing)
                    failed = True
                continue
            try:
                values[key] = column.parser(text, raw, self.lookups)
            except CellError as error:
                self._error(row, key, error.message)
                failed = True
        return None if failed else values

    def _write(
        self,
        row: int,
        producer: Producer | None,
        producer_values: dict,
        product: Product | None,
        product_values: dict,
        product_key: str,
    ) -> None:
        """The row's producer and product, in one SAVEPOINT: all of the row or none of it."""
        created_producer, created_product = producer is None, product is None
        try:
            with db.session.begin_nested():
                if created_producer:
                    producer = Producer()
                    db.session.add(producer)
                producer_changed = assign(producer, producer_values)
                db.session.flush()  # a new producer's id
                if created_product:
                    product = Product(producer_id=producer.id)
                    db.session.add(product)
                product_changed = assign(product, product_values)
                db.session.flush()
        except SQLAlchemyError as error:  # rolled back to the savepoint: nothing of the row remains
            orig = getattr(error, "orig", None)
            current_app.logger.warning("import row %s refused by the database: %s", row, orig or error)
            reason = getattr(getattr(orig, "diag", None), "message_primary", None) or type(error).__name__
            self._error(row, None, _("Không lưu được dòng này (%(reason)s)", reason=reason))
            return
        if created_producer:
            self.report.created_producers += 1
            self.created_producers.add(producer.id)
        elif producer_changed and producer.id not in self.created_producers:
            self.updated_producers.add(producer.id)
        if created_product:
            self.report.created_products += 1
        elif product_changed:
            self.report.updated_products += 1
        elif not producer_changed:
            self.report.unchanged += 1
        self._remember(row, producer, product, product_key, producer_values)

    def _remember(self, row: int, producer: Producer, product: Product, product_key: str, producer_values: dict):
        self._index_producer(producer)
        self.products[(producer.id, product_key)] = product
        self.product_rows[(producer.id, product_key)] = row
        seen = self.producer_rows.setdefault(producer.id, {})
        for attr, value in producer_values.items():
            seen.setdefault(attr, (value, row))

    def _consistent(self, row: int, producer: Producer, producer_values: dict) -> bool:
        """Rows of one producer in one file must agree on what they fill in."""
        seen = self.producer_rows.get(producer.id, {})
        consistent = True
        for key, attr in PRODUCER_FIELDS.items():
            if attr not in producer_values or attr not in seen:
                continue
            before, first_row = seen[attr]
            same = (
                name_key(before) == name_key(producer_values[attr])
                if attr == "name"
                else before == producer_values[attr]
            )
            if not same:
                shown = self.lookups.units_by_id[before].name if attr == "unit_id" else before
                self._error(
                    row, key, _("Khác với dòng %(row)s của cùng chủ thể ('%(value)s')", row=first_row, value=shown)
                )
                consistent = False
        return consistent

    def finish(self) -> ImportReport:
        self.report.updated_producers = len(self.updated_producers)
        self.report.errors.sort(key=lambda e: e.row_number)
        return self.report


def _differs(obj, values: dict) -> bool:
    return any(getattr(obj, attr) != value for attr, value in values.items())


def import_workbook(stream, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import an .xlsx (file-like or bytes) into the current tenant; the caller commits.

    Raises WorkbookError when the file as a whole is refused (nothing is written then). `progress`,
    when given, is told (rows done, rows in all) every PROGRESS_EVERY rows and at the end.
    """
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotSet("import_workbook needs a current tenant")
    table = read_table(stream)
    importer = _Importer(tenant_id, table.headers)
    total = len(table.rows)
    for done, (row_number, cells) in enumerate(table.rows, start=1):
        importer.import_row(row_number, cells)
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    return importer.finish()


PROGRESS_EVERY = 50
