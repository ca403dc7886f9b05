"""Writing the rows: match each row's producer and product, then create or update them.

Runs inside the current tenant and does not commit: the caller commits once at the end. Rules:
- every row is validated as a whole first, in memory (the tenant's producers, products and certificates are
  loaded once, set-wise); a valid row is then written with the other rows of its batch (BATCH rows) inside one
  SAVEPOINT, set-wise (one INSERT … RETURNING per table and batch, one UPDATE per set of changed columns:
  app/core/bulk.py) with the audit entries the flush hook would have written, one per row and record as before. When the database refuses anything of a batch, the
  batch is rolled back and its rows are planned and written again one by one, each in its own SAVEPOINT, so a
  row is imported completely or not at all and a refused row is reported with its Excel row number;
- idempotent: a producer is matched by its registration number when the row gives one, else by
  (name, commune); a product by (producer, name). Names are compared NFC, case- and
  spacing-insensitively (diacritics count: "Chè" and "Chế" are different products);
- an empty optional cell keeps the stored value (the web forms may have enriched the record);
- within one file, rows of the same producer must not contradict each other, and a product may
  appear once, or once per certificate decision (its history) with the same product values:
  otherwise a re-import would flip values back and forth;
- certificates go through the certificate service: a new product's first certificate by
  certificates_record_first (the same rules as certificate_record, set-wise), any other by certificate_record.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.audit.services import audited_insert, audited_update
from app.certification.models import Certificate
from app.certification.services import (
    CertificateError,
    certificate_first_values,
    certificate_record,
    certificates_record_first,
    certificates_record_new,
)
from app.core import clock
from app.core.bulk import column_defaults
from app.core.text import name_key
from app.exchange.columns import (
    CERTIFICATE_KEYS,
    COLUMNS_BY_KEY,
    PRODUCER_FIELDS,
    PRODUCT_FIELDS,
    CellError,
    cell_text,
)
from app.exchange.lookups import Lookups, load_product_sets, tenant_act
from app.exchange.reader import WorkbookError, read_table
from app.extensions import db
from app.registry.models import Producer, Product
from tenants.context import TenantNotSet, current_tenant_id
from tenants.models import AdminUnit

BATCH = 500  # rows written together in one SAVEPOINT


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
    notes: list[RowError] = field(default_factory=list)  # why a row made a new record, or matched a moved one
    unknown_columns: list[str] = field(default_factory=list)  # headers the layout does not know (ignored)
    report_only_columns: list[str] = field(default_factory=list)  # an export's report-only columns (ignored)
    certificates: int = 0  # rows that carried a certificate (decision number or date)
    # Stars are certificates (a decision number and date): rows whose star was read but could not be recorded.
    stars_need_decision: list[int] = field(default_factory=list)
    as_of: date | None = None

    @property
    def failed_rows(self) -> list[int]:
        """The rows refused (a row with two bad cells counts once)."""
        return sorted({e.row_number for e in self.errors})


COUNTERS = ("created_producers", "created_products", "updated_products", "unchanged", "rows", "certificates")
LISTS = ("errors", "notes", "stars_need_decision")


def _reg_key(value: str) -> str:
    return "".join(value.split()).upper()


class _Rec:
    """A producer, product or certificate as the import knows it: its column values as attributes; a new one's id
    is None until its batch is written. Compared (and hashed) by identity, so a new record is a key at once."""

    def __init__(self, **values):
        self.__dict__.update(values)


@functools.cache
def _columns(model) -> list[str]:
    """The columns an import reads and writes ({id, tenant_id, created_at} apart)."""
    return [a.key for a in inspect(model).column_attrs if a.key not in ("tenant_id", "id", "created_at")]


def _load(model, keys: list[str]) -> list[_Rec]:
    statement = select(model.id, *(getattr(model, k) for k in keys)).order_by(model.id)
    names = ("id", *keys)
    return [_Rec(**dict(zip(names, row, strict=True))) for row in db.session.execute(statement)]


def _new_record(model, values: dict) -> _Rec:
    """A record not yet written: every column, the defaults a flush would apply, then the row's values."""
    return _Rec(**{"id": None, **dict.fromkeys(_columns(model)), **column_defaults(model), **values})


CERTIFICATE_COLUMNS = [
    "product_id",
    "decision_number",
    "decision_date",
    "stars",
    "score",
    "part_scores",
    "authority",
    "valid_from",
    "valid_to",
]


@dataclass
class _Write:
    """What one valid row writes (its batch writes them set-wise, in this order): a new producer and a new product
    (their values as the row made them), updates of existing ones ({attribute: (before, after)}), a new product's
    first certificate (certificate_first_values), or a certificate of an existing product (certificate_record)."""

    row: int
    producer: _Rec
    product: _Rec | None = None
    new_producer: dict | None = None
    new_product: dict | None = None
    producer_change: dict = field(default_factory=dict)
    product_change: dict = field(default_factory=dict)
    first_certificate: dict | None = None
    certificate: dict | None = None  # certificate_record's fields
    new_decision: bool = False  # the certificate's decision is not recorded yet (else: a correction)


@dataclass
class _Snapshot:
    """The importer's state before a batch (or a row) is planned, to go back to when its writing fails. The indexes'
    values are never changed in place (replaced instead), so copying the dicts copies the state; records changed in
    place are undone from the journal."""

    indexes: dict
    counters: dict
    lengths: dict
    journal: int


class _Importer:
    def __init__(self, tenant_id: int, headers: dict[str, str], as_of: date | None = None):
        self.tenant_id = tenant_id
        self.headers = headers
        self.as_of = as_of
        self.report = ImportReport(as_of=as_of)
        self.today = clock.today()  # the day the import started, for every row
        act = tenant_act(tenant_id)
        self.lookups = Lookups(
            list(db.session.scalars(select(AdminUnit))),
            load_product_sets(act),
            on=as_of or self.today,
            groups=load_product_sets(act, level="group"),
        )
        # The tenant's producers, products and certificates, loaded once as plain records: a row costs no query.
        producers = _load(Producer, _columns(Producer))
        self.by_code: dict[str, _Rec] = {}
        self.by_reg: dict[str, _Rec] = {}
        self.by_name: dict[str, list[_Rec]] = {}
        self.indexed: dict[_Rec, tuple[str | None, str]] = {}  # producer → (reg key, name key) indexed
        for producer in producers:
            self._index_producer(producer)
        producers_by_id = {p.id: p for p in producers}
        self.products: dict[tuple[_Rec, str], _Rec] = {}  # (producer, name key) → product
        self.products_by_code: dict[str, _Rec] = {}
        products_by_id = {}
        for product in _load(Product, _columns(Product)):
            product.producer = producers_by_id[product.producer_id]
            products_by_id[product.id] = product
            self.products.setdefault((product.producer, name_key(product.name)), product)
            if product.code:
                self.products_by_code[_reg_key(product.code)] = product
        # (product, decision number, decision date) → certificate
        self.certificates: dict[tuple[_Rec, str, date], _Rec] = {
            (products_by_id[c.product_id], c.decision_number, c.decision_date): c
            for c in _load(Certificate, CERTIFICATE_COLUMNS)
        }
        self.created_producers: set[_Rec] = set()
        self.updated_producers: set[_Rec] = set()
        self.producer_rows: dict[_Rec, dict[str, tuple[Any, int]]] = {}  # producer → attr → (value, first row)
        # (producer, product key) → (first row, its product values, the decisions of its rows)
        self.product_rows: dict[tuple[_Rec, str], tuple[int, dict, frozenset]] = {}
        self.journal: list[tuple[_Rec, str, Any]] = []  # (record, attribute, value before) of the open batch

    # -- state, and going back to an earlier one
    INDEXES = (
        "by_code",
        "by_reg",
        "by_name",
        "indexed",
        "products",
        "products_by_code",
        "certificates",
        "created_producers",
        "updated_producers",
        "producer_rows",
        "product_rows",
    )

    def _snapshot(self) -> _Snapshot:
        return _Snapshot(
            {name: getattr(self, name).copy() for name in self.INDEXES},
            {name: getattr(self.report, name) for name in COUNTERS},
            {name: len(getattr(self.report, name)) for name in LISTS},
            len(self.journal),
        )

    def _restore(self, snapshot: _Snapshot, *, keep_row_reading: bool = False) -> None:
        """Back to the snapshot. `keep_row_reading`: a row refused at writing stays counted as read, with its
        notes (as when each row was planned and written at once)."""
        for name, value in snapshot.indexes.items():
            setattr(self, name, value)
        for record, attr, before in reversed(self.journal[snapshot.journal :]):
            setattr(record, attr, before)
        del self.journal[snapshot.journal :]
        kept = ("rows",) if keep_row_reading else ()
        for name, value in snapshot.counters.items():
            if name not in kept:
                setattr(self.report, name, value)
        kept = ("notes", "stars_need_decision") if keep_row_reading else ()
        for name, length in snapshot.lengths.items():
            if name not in kept:
                del getattr(self.report, name)[length:]

    def _assign(self, record: _Rec, values: dict) -> dict:
        """Set the attributes whose value differs (journaled); {attribute: (before, after)} of those."""
        change = {}
        for attr, value in values.items():
            before = getattr(record, attr)
            if before != value:
                self.journal.append((record, attr, before))
                setattr(record, attr, value)
                change[attr] = (before, value)
        return change

    # -- indexes (changed when a row is planned; the batch's snapshot takes them back if it fails)
    def _index_producer(self, producer: _Rec) -> None:
        if producer.code:
            self.by_code[_reg_key(producer.code)] = producer
        old = self.indexed.get(producer)
        new = (_reg_key(producer.registration_no) if producer.registration_no else None, name_key(producer.name))
        if old == new:
            return
        if old is not None:
            if old[0] and self.by_reg.get(old[0]) is producer:
                del self.by_reg[old[0]]
            self.by_name[old[1]] = [p for p in self.by_name[old[1]] if p is not producer]
        if new[0]:
            self.by_reg.setdefault(new[0], producer)
        self.by_name[new[1]] = [*self.by_name.get(new[1], ()), producer]
        self.indexed[producer] = new

    def _error(self, row: int, key: str | None, message) -> None:
        header = self.headers.get(key) if key else None
        self.report.errors.append(RowError(row, header, str(message)))

    def _note(self, row: int, message) -> None:
        self.report.notes.append(RowError(row, None, str(message)))

    def _moved_within(self, old_id: int, new_id: int) -> bool:
        """A commune change that is still the same place: same district, a successor unit, or a refinement."""
        units = self.lookups.units_by_id
        old, new = units.get(old_id), units.get(new_id)
        if old is None or new is None:
            return False
        return (
            (old.parent_id is not None and old.parent_id == new.parent_id)
            or new.parent_id == old.id
            or old.parent_id == new.id
            or (  # the old unit ended and the new one began after it (the 2025 reform, a merger)
                old.valid_to is not None and new.valid_from is not None and new.valid_from > old.valid_to
            )
        )

    def _find_producer(self, row: int, values: dict) -> _Rec | None:
        code = values.get("producer_code")
        if code and _reg_key(code) in self.by_code:
            return self.by_code[_reg_key(code)]
        registration_no = values.get("registration_no")
        if registration_no and _reg_key(registration_no) in self.by_reg:
            return self.by_reg[_reg_key(registration_no)]
        pool = self.by_name.get(name_key(values["producer_name"]), [])
        if registration_no:  # one with another registration number is another producer
            pool = [p for p in pool if not p.registration_no]
        if code:  # and one with another code too
            pool = [p for p in pool if not p.code]
        unit_id = values.get("unit")
        if unit_id is not None:
            same_unit = [p for p in pool if p.unit_id == unit_id]
            if same_unit:
                return same_unit[0]
            elsewhere = [p for p in pool if p.unit_id is not None]
            pool = [p for p in pool if p.unit_id is None]
            if not pool and elsewhere:
                moved = [p for p in elsewhere if self._moved_within(p.unit_id, unit_id)]
                if len(moved) == 1:
                    self._note(
                        row,
                        _(
                            "Chủ thể '%(name)s' đã có ở '%(old)s'; dòng này ghi '%(new)s': coi là cùng chủ thể, "
                            "địa bàn được cập nhật",
                            name=values["producer_name"],
                            old=self.lookups.label(self.lookups.units_by_id[moved[0].unit_id]),
                            new=self.lookups.label(self.lookups.units_by_id[unit_id]),
                        ),
                    )
                    return moved[0]
                places = "; ".join(self.lookups.label(self.lookups.units_by_id[p.unit_id]) for p in elsewhere[:3])
                raise CellError(
                    _(
                        "Đã có chủ thể tên '%(value)s' ở %(places)s, khác xã/phường của dòng này. Nếu là cùng chủ thể, "
                        "hãy ghi mã số đăng ký kinh doanh hoặc mã chủ thể của nó; nếu là chủ thể khác, hãy ghi mã "
                        "số đăng ký kinh doanh hoặc mã chủ thể riêng",
                        value=values["producer_name"],
                        places=places,
                    )
                )
        if len(pool) > 1:
            raise CellError(
                _(
                    "Có nhiều chủ thể tên '%(value)s'; hãy ghi mã số đăng ký kinh doanh hoặc xã/phường",
                    value=values["producer_name"],
                )
            )
        return pool[0] if pool else None

    def plan_row(self, row: int, cells: dict[str, Any]) -> _Write | None:
        """Read, check and match one row and update the in-memory state as if it were written; what it writes
        (None when nothing: refused, or unchanged)."""
        self.report.rows += 1
        values = self._parse(row, cells)
        if values is None:
            return None
        self._certified = any(k in values for k in CERTIFICATE_KEYS)
        self._values = values
        if "stars" in values and not self._certified:
            self.report.stars_need_decision.append(row)
        if "product_name" not in values:
            return self._producer_only(row, values)
        try:
            producer = self._find_producer(row, values)
        except CellError as error:
            self._error(row, "producer_name", error.message)
            return None
        if producer is None:
            self._note(
                row,
                _(
                    "Chủ thể mới '%(name)s': không có chủ thể nào cùng mã, mã số ĐKKD hoặc tên và địa bàn",
                    name=values["producer_name"],
                ),
            )
        producer_values = {attr: values[key] for key, attr in PRODUCER_FIELDS.items() if values.get(key) is not None}
        product_values = {attr: values[key] for key, attr in PRODUCT_FIELDS.items() if values.get(key) is not None}
        self._product_values = product_values
        product_key = (
            _reg_key(values["product_code"]) if values.get("product_code") else name_key(values["product_name"])
        )
        product = None
        by_code = self.products_by_code.get(product_key) if values.get("product_code") else None
        if by_code is not None and (producer is None or by_code.producer is not producer):
            self._error(
                row, "product_code", _("Mã sản phẩm '%(value)s' thuộc một chủ thể khác", value=values["product_code"])
            )
            return None
        if producer is not None:
            if producer in self.producer_rows:
                if not self._consistent(row, producer, producer_values):
                    return None
                # What an earlier row of this file set stays as it set it ("HTX A" vs "htx a").
                seen = self.producer_rows[producer]
                producer_values = {attr: v for attr, v in producer_values.items() if attr not in seen}
            if (producer, product_key) in self.product_rows:
                if not self._another_decision(row, self.product_rows[(producer, product_key)], values, product_values):
                    return None
            product = by_code or self.products.get((producer, name_key(values["product_name"])))
            if product is not None and product.code and values.get("product_code") and by_code is None:
                product = None  # same name, another code: another product
            if (
                product is not None
                and not (_differs(producer, producer_values) or _differs(product, product_values))
                and not (self._certified and certificate_differs(product, values, self.certificates))
            ):
                self.report.unchanged += 1  # nothing to write
                self._remember(row, producer, product, product_key, producer_values)
                return None
        if product is None and "unit_id" not in product_values and "unit" in values:
            product_values["unit_id"] = values["unit"]  # a new product is made where its producer is, unless told
        return self._plan_write(row, producer, producer_values, product, product_values, product_key, values)

    def _producer_only(self, row: int, values: dict) -> _Write | None:
        """A row naming a producer and no product: create or update the producer alone."""
        try:
            producer = self._find_producer(row, values)
        except CellError as error:
            self._error(row, "producer_name", error.message)
            return None
        producer_values = {attr: values[key] for key, attr in PRODUCER_FIELDS.items() if values.get(key) is not None}
        if producer is not None and producer in self.producer_rows:
            if not self._consistent(row, producer, producer_values):
                return None
        write = None
        if producer is not None and not _differs(producer, producer_values):
            self.report.unchanged += 1
        elif producer is None:
            producer = _new_record(Producer, producer_values)
            write = _Write(row, producer, new_producer=_insert_values(Producer, producer))
            self.report.created_producers += 1
            self.created_producers.add(producer)
        else:
            write = _Write(row, producer, producer_change=self._assign(producer, producer_values))
            if producer not in self.created_producers:
                self.updated_producers.add(producer)
        self._index_producer(producer)
        self._seen_producer(row, producer, producer_values)
        return write

    def _seen_producer(self, row: int, producer: _Rec, producer_values: dict) -> None:
        seen = dict(self.producer_rows.get(producer, {}))
        for attr, value in producer_values.items():
            seen.setdefault(attr, (value, row))
        self.producer_rows[producer] = seen

    def _refused(self, row: int, error: SQLAlchemyError) -> None:
        orig = getattr(error, "orig", None)
        current_app.logger.warning("import row %s refused by the database: %s", row, orig or error)
        self._error(row, None, _("Không lưu được dòng này (%(reason)s)", reason=_reason(error)))

    def _parse(self, row: int, cells: dict[str, Any]) -> dict[str, Any] | None:
        """Column key → parsed value for the non-empty cells; None (errors reported) if any is wrong."""
        values: dict[str, Any] = {}
        failed = False
        # A row without any product cell is about the producer alone (a producer export lists those).
        producer_only = all(cell_text(cells.get(k)) is None for k in PRODUCT_KEYS)
        for key, raw in cells.items():
            column = COLUMNS_BY_KEY[key]
            text = cell_text(raw)
            if text is None:
                if column.required and not (producer_only and key in PRODUCT_KEYS):
                    self._error(row, key, column.missing)
                    failed = True
                continue
            try:
                values[key] = column.parser(text, raw, self.lookups)
            except CellError as error:
                self._error(row, key, error.message)
                failed = True
        self.lookups.on = values.get("as_of") or self.as_of or self.today
        for unit_key, district_key in (("unit", "district"), ("product_unit", "product_district")):
            commune, district = values.pop(unit_key, None), values.pop(district_key, None)
            try:
                if commune:
                    values[unit_key] = self.lookups.unit(commune, district=district)
                elif district:
                    values[unit_key] = self.lookups.unit(district, level="district")
            except CellError as error:
                self._error(row, unit_key if commune else district_key, error.message)
                failed = True
        if "product_unit" not in values and not ({"product_unit", "product_district"} & self.headers.keys()):
            if "unit" in values:  # one place column: the product is made where its producer is
                values["product_unit"] = values["unit"]
        message = None if failed else certificate_problem(values, self.today)
        if message:
            self._error(row, message[0], message[1])
            failed = True
        return None if failed else values

    def _plan_write(
        self,
        row: int,
        producer: _Rec | None,
        producer_values: dict,
        product: _Rec | None,
        product_values: dict,
        product_key: str,
        values: dict,
    ) -> _Write | None:
        """The row's producer, product and certificate, checked before anything of the row is taken into the state:
        all of the row or none of it."""
        created_producer, created_product = producer is None, product is None
        first_certificate = certificate = None
        new_decision = False
        if self._certified:
            fields = _certificate_fields(values)
            try:
                if created_product:
                    first_certificate = certificate_first_values(**fields, source="import", today=self.today)
                elif certificate_differs(product, values, self.certificates):
                    certificate = fields
                    new_decision = (
                        product,
                        fields["decision_number"],
                        fields["decision_date"],
                    ) not in self.certificates
                    if new_decision:
                        # A new decision of a known product: the service's rules, checked now (kind and chain at
                        # writing); a correction is checked by the service against the record, at writing.
                        certificate_first_values(**fields, source="import", today=self.today)
            except CertificateError as error:  # the certificate service refuses it: so is the whole row
                self._error(row, CERTIFICATE_FIELD_COLUMNS.get(error.field or "", "decision_no"), str(error))
                return None
        if created_producer:
            producer = _new_record(Producer, producer_values)
            producer_change = {}
            self.report.created_producers += 1
            self.created_producers.add(producer)
        else:
            producer_change = self._assign(producer, producer_values)
            if producer_change and producer not in self.created_producers:
                self.updated_producers.add(producer)
        write = _Write(
            row, producer, producer_change=producer_change, certificate=certificate, new_decision=new_decision
        )
        if created_producer:
            write.new_producer = _insert_values(Producer, producer)
        if created_product:
            product = _new_record(Product, {**product_values, "producer": producer})
            write.new_product = _insert_values(Product, product)
            write.first_certificate = first_certificate
            self.report.created_products += 1
            if first_certificate is not None:
                cert = _Rec(id=None, product_id=None, **first_certificate)
                self.certificates[(product, cert.decision_number, cert.decision_date)] = cert
        else:
            write.product_change = self._assign(product, product_values)
            if write.product_change or certificate is not None:
                self.report.updated_products += 1
            elif not producer_change:
                self.report.unchanged += 1
        write.product = product
        self._remember(row, producer, product, product_key, producer_values)
        return write

    def _remember(self, row: int, producer: _Rec, product: _Rec, product_key: str, producer_values: dict) -> None:
        self._index_producer(producer)
        if self._certified:
            self.report.certificates += 1
        self.products[(producer, name_key(product.name))] = product
        if product.code:
            self.products_by_code[_reg_key(product.code)] = product
        first_row, seen, decisions = self.product_rows.get((producer, product_key), (row, {}, frozenset()))
        seen = {**{attr: (value, row) for attr, value in self._product_values.items()}, **seen}
        if self._certified:
            decisions = decisions | {_decision(self._values)}
        self.product_rows[(producer, product_key)] = (first_row, seen, decisions)
        self._seen_producer(row, producer, producer_values)

    def _another_decision(self, row: int, seen: tuple[int, dict, set], values: dict, product_values: dict) -> bool:
        """A product may come again in one file for another certificate decision (its history: 2019 3★,
        2022 4★) when the rows agree on the product; anything else is refused as a contradiction."""
        first_row, seen_values, decisions = seen
        if not self._certified or _decision(values) in decisions:
            self._error(
                row,
                "product_name",
                _(
                    "Sản phẩm '%(value)s' của chủ thể này đã có ở dòng %(row)s",
                    value=values["product_name"],
                    row=first_row,
                ),
            )
            return False
        message = _l("Khác với dòng %(row)s của cùng sản phẩm ('%(value)s')")
        return self._agree(row, PRODUCT_FIELDS, product_values, seen_values, message)

    def _consistent(self, row: int, producer: _Rec, producer_values: dict) -> bool:
        """Rows of one producer in one file must agree on what they fill in."""
        message = _l("Khác với dòng %(row)s của cùng chủ thể ('%(value)s')")
        return self._agree(row, PRODUCER_FIELDS, producer_values, self.producer_rows.get(producer, {}), message)

    def _agree(self, row: int, fields: dict, values: dict, seen: dict, message) -> bool:
        """The row's values against what earlier rows of the same record said ({attr: (value, row)});
        each disagreement is reported on its column, naming the earlier row and its value."""
        consistent = True
        for key, attr in fields.items():
            if attr not in values or attr not in seen:
                continue
            before, at_row = seen[attr]
            same = name_key(before) == name_key(values[attr]) if attr == "name" else before == values[attr]
            if not same:
                shown = self.lookups.units_by_id[before].name if attr == "unit_id" else before
                self._error(row, key, str(message) % {"row": at_row, "value": shown})
                consistent = False
        return consistent

    # -- writing
    def run(self, rows: list[tuple[int, dict]], progress: Callable[[int, int], None] | None = None) -> None:
        """Plan and write the rows, BATCH at a time; a batch the database refuses goes again row by row."""
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            before = self._snapshot()
            writes = [w for w in (self.plan_row(row, cells) for row, cells in chunk) if w is not None]
            try:
                self._write(writes)
            except (SQLAlchemyError, CertificateError) as error:
                reason = error if isinstance(error, CertificateError) else _reason(error)
                current_app.logger.info("import batch of rows %s-%s refused (%s): row by row", *_span(chunk), reason)
                self._restore(before)
                for row, cells in chunk:
                    self._one_row(row, cells)
            self.journal.clear()
            if progress:
                progress(start + len(chunk), len(rows))

    def _one_row(self, row: int, cells: dict) -> None:
        before = self._snapshot()
        write = self.plan_row(row, cells)
        if write is None:
            return
        try:
            self._write([write])
        except SQLAlchemyError as error:  # rolled back to the savepoint: nothing of the row remains
            self._restore(before, keep_row_reading=True)
            self._refused(row, error)
        except CertificateError as error:  # the certificate service refused it: so is the whole row
            self._restore(before, keep_row_reading=True)
            self._error(row, CERTIFICATE_FIELD_COLUMNS.get(error.field or "", "decision_no"), str(error))

    def _write(self, writes: list[_Write]) -> None:
        """The rows' writes in one SAVEPOINT, set-wise: new producers, new products (their ids back in order), new
        products' first certificates, then updates, then the certificates of existing products one by one (the
        service locks the product and keeps its chain)."""
        if not writes:
            return
        recorded = []
        with db.session.begin_nested():
            new = [w for w in writes if w.new_producer is not None]
            for w, new_id in zip(new, audited_insert(Producer, [w.new_producer for w in new]), strict=True):
                w.producer.id = new_id
            new = [w for w in writes if w.new_product is not None]
            rows = [{**w.new_product, "producer_id": w.product.producer.id} for w in new]
            for w, new_id in zip(new, audited_insert(Product, rows), strict=True):
                w.product.id, w.product.producer_id = new_id, w.product.producer.id
            firsts = [w for w in writes if w.first_certificate is not None]
            certificates_record_first([(w.product.id, w.first_certificate) for w in firsts])
            audited_update(Producer, [(w.producer.id, w.producer_change) for w in writes if w.producer_change])
            audited_update(Product, [(w.product.id, w.product_change) for w in writes if w.product_change])
            # New decisions set-wise, unless the batch is one row or the product has a correction in the batch
            # (then all of its certificates go one by one, in the rows' order, through certificate_record).
            corrected = {id(w.product) for w in writes if w.certificate is not None and not w.new_decision}
            together = [
                w
                for w in writes
                if w.certificate is not None and w.new_decision and len(writes) > 1 and id(w.product) not in corrected
            ]
            items = [(w.product.id, w.certificate) for w in together]
            certs = certificates_record_new(items, source="import", today=self.today) if items else []
            recorded += [(w.product, cert) for w, cert in zip(together, certs, strict=True)]
            set_wise = {id(w) for w in together}
            for w in writes:
                if w.certificate is not None and id(w) not in set_wise:
                    product = db.session.get(Product, (self.tenant_id, w.product.id))
                    cert, _created = certificate_record(product, **w.certificate, source="import", today=self.today)
                    recorded.append((w.product, cert))
        for product, cert in recorded:  # known once the savepoint is released
            self.certificates[(product, cert.decision_number, cert.decision_date)] = _Rec(
                **{k: getattr(cert, k) for k in ("id", *CERTIFICATE_COLUMNS)}
            )

    def finish(self) -> ImportReport:
        self.report.updated_producers = len(self.updated_producers)
        self.report.errors.sort(key=lambda e: e.row_number)
        return self.report


def _reason(error: SQLAlchemyError) -> str:
    """The database's own words for a refusal (its primary message, never the statement), else the kind of error."""
    orig = getattr(error, "orig", None)
    return getattr(getattr(orig, "diag", None), "message_primary", None) or type(error).__name__


def _span(chunk: list[tuple[int, dict]]) -> tuple[int, int]:
    return chunk[0][0], chunk[-1][0]


def _insert_values(model, record: _Rec) -> dict:
    """A new record's row as inserted (and audited): taken when its row is planned, so a later row's change to the
    same record is written (and audited) as that row's update."""
    return {k: getattr(record, k) for k in _columns(model)}


PRODUCT_KEYS = ("product_name", "product_set", "product_code")


def _decision(values: dict) -> tuple:
    return (values.get("decision_no"), values.get("decision_date"))


def _differs(obj, values: dict) -> bool:
    return any(getattr(obj, attr) != value for attr, value in values.items())


# The certificate service's field names → the import's column keys, to name the column of a refusal.
CERTIFICATE_FIELD_COLUMNS = {
    "stars": "stars",
    "score": "score",
    "part_a": "score_a",
    "part_b": "score_b",
    "part_c": "score_c",
    "part_scores": "score",
    "decision_number": "decision_no",
    "decision_date": "decision_date",
    "valid_from": "valid_from",
    "valid_to": "valid_to",
    "authority": "authority",
}


def certificate_problem(values: dict, today: date | None = None) -> tuple[str, str] | None:
    """(column key, message) when a row's certificate columns are incomplete or contradict each other."""
    if not any(k in values for k in CERTIFICATE_KEYS):
        return None
    if "stars" not in values:
        return "stars", _("Có quyết định công nhận nhưng thiếu số sao")
    if "decision_no" not in values:
        return "decision_no", _("Có thông tin công nhận nhưng thiếu số quyết định")
    if "decision_date" not in values:
        return "decision_date", _("Có thông tin công nhận nhưng thiếu ngày quyết định")
    if values["decision_date"] > (today or clock.today()):
        return "decision_date", _("Ngày quyết định không được ở tương lai")
    if "valid_from" in values and "valid_to" in values and values["valid_to"] < values["valid_from"]:
        return "valid_to", _("Ngày hết hiệu lực trước ngày bắt đầu hiệu lực")
    parts = [values.get(k) for k in ("score_a", "score_b", "score_c")]
    if all(p is not None for p in parts) and "score" in values and abs(sum(parts) - values["score"]) > Decimal("0.05"):
        return "score", _("Tổng điểm khác tổng điểm các phần A, B, C")
    return None


def _certificate_fields(values: dict) -> dict:
    parts = {key[-1].upper(): values[key] for key in ("score_a", "score_b", "score_c") if key in values}
    return {
        "stars": values["stars"],
        "decision_number": values["decision_no"],
        "decision_date": values["decision_date"],
        "authority": values.get("authority"),
        "score": values.get("score"),
        "part_scores": parts or None,
        "valid_from": values.get("valid_from"),
        "valid_to": values.get("valid_to"),
    }


def certificate_differs(product: _Rec, values: dict, known: dict) -> bool:
    """True when the row's certificate is not recorded yet, or a value it states differs from the record.

    `known`: the tenant's certificates by (product, decision number, decision date).
    """
    fields = _certificate_fields(values)
    cert = known.get((product, fields["decision_number"], fields["decision_date"]))
    if cert is None:
        return True
    if fields["part_scores"] is not None:
        fields["part_scores"] = {**(cert.part_scores or {}), **{k: str(v) for k, v in fields["part_scores"].items()}}
    return any(value is not None and getattr(cert, key) != value for key, value in fields.items())


def import_workbook(
    stream, progress: Callable[[int, int], None] | None = None, as_of: date | None = None
) -> ImportReport:
    """Import an .xlsx (file-like or bytes) into the current tenant; the caller commits.

    Raises WorkbookError when the file as a whole is refused (nothing is written then). `progress`,
    when given, is told (rows done, rows in all) after each batch. `as_of` is the date the list
    describes (its stars and units); a row's own "Tính đến ngày" cell wins.
    """
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotSet("import_workbook needs a current tenant")
    with _no_cycle_collection():
        table = read_table(stream)
        importer = _Importer(tenant_id, table.headers, as_of)
        importer.report.unknown_columns = table.unknown_headers
        importer.report.report_only_columns = table.report_only_headers
        with _keys_checked_at_the_end():
            importer.run(table.rows, progress)
        return importer.finish()


# Checked inside each batch's SAVEPOINT these keys cost more with every batch (migrations/versions/0022); checked
# once after the batches, the same rule holds for the same rows. The writer makes only rows whose product and
# producer exist (found in this province, or made in the same batch), so the end check fails only when another
# user deleted one of them meanwhile: the file is then refused as a whole and nothing of it stays.
DEFERRED_KEYS = "fk_certificates_tenant_id_product_id_products, fk_products_tenant_id_producer_id_producers"


@contextmanager
def _keys_checked_at_the_end():
    db.session.execute(text(f"SET CONSTRAINTS {DEFERRED_KEYS} DEFERRED"))
    yield
    try:  # the deferred checks run here, in the import's own transaction (no SAVEPOINT: that is what was slow)
        db.session.execute(text(f"SET CONSTRAINTS {DEFERRED_KEYS} IMMEDIATE"))
    except IntegrityError as error:  # the caller rolls the whole import back
        raise WorkbookError(
            _("Một sản phẩm hoặc chủ thể của tệp vừa bị xoá trong lúc nhập; không dòng nào được lưu. Hãy nhập lại.")
        ) from error


@contextmanager
def _no_cycle_collection():
    """An import allocates a few hundred thousand small objects and keeps most of them (the tenant's records, the
    file's cells) until it ends: Python's cycle collector would scan them again and again (a quarter of the
    import's time). They hold no reference cycles, so reference counting frees them; the collector runs again
    once the import is over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
