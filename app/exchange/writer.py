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
  appear once, or once per certificate decision (its history) with the same product values:
  otherwise a re-import would flip values back and forth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.certification.models import Certificate
from app.certification.services import CertificateError, certificate_record
from app.core import clock
from app.core.text import assign, name_key
from app.exchange.columns import (
    CERTIFICATE_KEYS,
    COLUMNS_BY_KEY,
    PRODUCER_FIELDS,
    PRODUCT_FIELDS,
    CellError,
    cell_text,
)
from app.exchange.lookups import Lookups, load_product_sets, tenant_act
from app.exchange.reader import read_table
from app.extensions import db
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


def _reg_key(value: str) -> str:
    return "".join(value.split()).upper()


class _Importer:
    def __init__(self, tenant_id: int, headers: dict[str, str], as_of: date | None = None):
        self.headers = headers
        self.as_of = as_of
        self.report = ImportReport(as_of=as_of)
        act = tenant_act(tenant_id)
        self.lookups = Lookups(
            list(db.session.scalars(select(AdminUnit))),
            load_product_sets(act),
            on=as_of or clock.today(),
            groups=load_product_sets(act, level="group"),
        )
        self.by_code: dict[str, Producer] = {}
        self.by_reg: dict[str, Producer] = {}
        self.by_name: dict[str, list[Producer]] = {}
        self.indexed: dict[int, tuple[str | None, str]] = {}  # producer id → (reg key, name key) indexed
        for producer in db.session.scalars(select(Producer).order_by(Producer.id)):
            self._index_producer(producer)
        self.products: dict[tuple[int, str], Product] = {}
        self.products_by_code: dict[str, Product] = {}
        for product in db.session.scalars(select(Product).order_by(Product.id)):
            self.products.setdefault((product.producer_id, name_key(product.name)), product)
            if product.code:
                self.products_by_code[_reg_key(product.code)] = product
        # The tenant's certificates by decision, loaded once: an unchanged row costs no query.
        self.certificates: dict[tuple[int, str, date], Certificate] = {
            (c.product_id, c.decision_number, c.decision_date): c for c in db.session.scalars(select(Certificate))
        }
        self.created_producers: set[int] = set()
        self.updated_producers: set[int] = set()
        self.producer_rows: dict[int, dict[str, tuple[Any, int]]] = {}  # id → attr → (value, first row)
        # (producer id, product key) → (first row, its product values, the decisions of its rows)
        self.product_rows: dict[tuple[int, str], tuple[int, dict, set]] = {}

    # -- indexes (updated only after a row's savepoint is released)
    def _index_producer(self, producer: Producer) -> None:
        if producer.code:
            self.by_code[_reg_key(producer.code)] = producer
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

    def _find_producer(self, row: int, values: dict) -> Producer | None:
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

    def import_row(self, row: int, cells: dict[str, Any]) -> None:
        self.report.rows += 1
        values = self._parse(row, cells)
        if values is None:
            return
        self._certified = any(k in values for k in CERTIFICATE_KEYS)
        self._values = values
        if "stars" in values and not self._certified:
            self.report.stars_need_decision.append(row)
        if "product_name" not in values:
            self._producer_only(row, values)
            return
        try:
            producer = self._find_producer(row, values)
        except CellError as error:
            self._error(row, "producer_name", error.message)
            return
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
        if by_code is not None and (producer is None or by_code.producer_id != producer.id):
            self._error(
                row, "product_code", _("Mã sản phẩm '%(value)s' thuộc một chủ thể khác", value=values["product_code"])
            )
            return
        if producer is not None:
            if producer.id in self.producer_rows:
                if not self._consistent(row, producer, producer_values):
                    return
                # What an earlier row of this file set stays as it set it ("HTX A" vs "htx a").
                seen = self.producer_rows[producer.id]
                producer_values = {attr: v for attr, v in producer_values.items() if attr not in seen}
            if (producer.id, product_key) in self.product_rows:
                if not self._another_decision(
                    row, self.product_rows[(producer.id, product_key)], values, product_values
                ):
                    return
            product = by_code or self.products.get((producer.id, name_key(values["product_name"])))
            if product is not None and product.code and values.get("product_code") and by_code is None:
                product = None  # same name, another code: another product
            if (
                product is not None
                and not (_differs(producer, producer_values) or _differs(product, product_values))
                and not (self._certified and certificate_differs(product, values, self.certificates))
            ):
                self.report.unchanged += 1  # nothing to write, so no savepoint either
                self._remember(row, producer, product, product_key, producer_values)
                return
        if product is None and "unit_id" not in product_values and "unit" in values:
            product_values["unit_id"] = values["unit"]  # a new product is made where its producer is, unless told
        self._write(row, producer, producer_values, product, product_values, product_key, values)

    def _producer_only(self, row: int, values: dict) -> None:
        """A row naming a producer and no product: create or update the producer alone."""
        try:
            producer = self._find_producer(row, values)
        except CellError as error:
            self._error(row, "producer_name", error.message)
            return
        producer_values = {attr: values[key] for key, attr in PRODUCER_FIELDS.items() if values.get(key) is not None}
        if producer is not None and producer.id in self.producer_rows:
            if not self._consistent(row, producer, producer_values):
                return
        if producer is not None and not _differs(producer, producer_values):
            self.report.unchanged += 1
        else:
            try:
                with db.session.begin_nested():
                    created = producer is None
                    if created:
                        producer = Producer()
                        db.session.add(producer)
                    assign(producer, producer_values)
                    db.session.flush()
            except SQLAlchemyError as error:
                self._refused(row, error)
                return
            if created:
                self.report.created_producers += 1
                self.created_producers.add(producer.id)
            elif producer.id not in self.created_producers:
                self.updated_producers.add(producer.id)
        self._index_producer(producer)
        seen = self.producer_rows.setdefault(producer.id, {})
        for attr, value in producer_values.items():
            seen.setdefault(attr, (value, row))

    def _refused(self, row: int, error: SQLAlchemyError) -> None:
        orig = getattr(error, "orig", None)
        current_app.logger.warning("import row %s refused by the database: %s", row, orig or error)
        reason = getattr(getattr(orig, "diag", None), "message_primary", None) or type(error).__name__
        self._error(row, None, _("Không lưu được dòng này (%(reason)s)", reason=reason))

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
        self.lookups.on = values.get("as_of") or self.as_of or clock.today()
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
        message = None if failed else certificate_problem(values)
        if message:
            self._error(row, message[0], message[1])
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
        values: dict,
    ) -> None:
        """The row's producer and product, in one SAVEPOINT: all of the row or none of it."""
        created_producer, created_product = producer is None, product is None
        cert = None
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
                if self._certified:
                    cert = record_certificate(product, values, self.certificates, new_product=created_product)
                    product_changed = cert is not None or product_changed
        except SQLAlchemyError as error:  # rolled back to the savepoint: nothing of the row remains
            self._refused(row, error)
            return
        except CertificateError as error:  # the certificate service refused it: so is the whole row
            self._error(row, CERTIFICATE_FIELD_COLUMNS.get(error.field or "", "decision_no"), str(error))
            return
        if created_producer:
            self.report.created_producers += 1
            self.created_producers.add(producer.id)
        elif producer_changed and producer.id not in self.created_producers:
            self.updated_producers.add(producer.id)
        if self._certified and cert is not None:  # known only once the row's savepoint is released
            self.certificates[(product.id, cert.decision_number, cert.decision_date)] = cert
        if created_product:
            self.report.created_products += 1
        elif product_changed:
            self.report.updated_products += 1
        elif not producer_changed:
            self.report.unchanged += 1
        self._remember(row, producer, product, product_key, producer_values)

    def _remember(self, row: int, producer: Producer, product: Product, product_key: str, producer_values: dict):
        self._index_producer(producer)
        if self._certified:
            self.report.certificates += 1
        self.products[(producer.id, name_key(product.name))] = product
        if product.code:
            self.products_by_code[_reg_key(product.code)] = product
        first = self.product_rows.setdefault((producer.id, product_key), (row, {}, set()))
        for attr, value in self._product_values.items():
            first[1].setdefault(attr, (value, row))
        if self._certified:
            first[2].add(_decision(self._values))
        seen = self.producer_rows.setdefault(producer.id, {})
        for attr, value in producer_values.items():
            seen.setdefault(attr, (value, row))

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

    def _consistent(self, row: int, producer: Producer, producer_values: dict) -> bool:
        """Rows of one producer in one file must agree on what they fill in."""
        message = _l("Khác với dòng %(row)s của cùng chủ thể ('%(value)s')")
        return self._agree(row, PRODUCER_FIELDS, producer_values, self.producer_rows.get(producer.id, {}), message)

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

    def finish(self) -> ImportReport:
        self.report.updated_producers = len(self.updated_producers)
        self.report.errors.sort(key=lambda e: e.row_number)
        return self.report


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


def certificate_problem(values: dict) -> tuple[str, str] | None:
    """(column key, message) when a row's certificate columns are incomplete or contradict each other."""
    if not any(k in values for k in CERTIFICATE_KEYS):
        return None
    if "stars" not in values:
        return "stars", _("Có quyết định công nhận nhưng thiếu số sao")
    if "decision_no" not in values:
        return "decision_no", _("Có thông tin công nhận nhưng thiếu số quyết định")
    if "decision_date" not in values:
        return "decision_date", _("Có thông tin công nhận nhưng thiếu ngày quyết định")
    if values["decision_date"] > clock.today():
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


def _known_certificate(product: Product, fields: dict, known: dict | None) -> Certificate | None:
    key = (product.id, fields["decision_number"], fields["decision_date"])
    if known is not None:
        return known.get(key)
    return db.session.scalar(
        select(Certificate).where(
            Certificate.product_id == product.id,
            Certificate.decision_number == fields["decision_number"],
            Certificate.decision_date == fields["decision_date"],
        )
    )


def certificate_differs(product: Product, values: dict, known: dict | None = None) -> bool:
    """True when the row's certificate is not recorded yet, or a value it states differs from the record.

    `known`: the tenant's certificates by (product id, decision number, decision date), when loaded.
    """
    fields = _certificate_fields(values)
    cert = _known_certificate(product, fields, known)
    if cert is None:
        return True
    if fields["part_scores"] is not None:
        fields["part_scores"] = {**(cert.part_scores or {}), **{k: str(v) for k, v in fields["part_scores"].items()}}
    return any(value is not None and getattr(cert, key) != value for key, value in fields.items())


def record_certificate(
    product: Product, values: dict, known: dict | None = None, *, new_product: bool = False
) -> Certificate | None:
    """Record the row's certificate through the certificate service; the certificate when created or
    corrected, None when it was already recorded as the row states it.

    Idempotent: the same decision (number and date) again creates nothing; stated values that differ
    (an edited star, a score) correct it, by the service's rules. Raises CertificateError.
    `new_product`: the product was inserted by this row (the service's fast path, same rules).
    """
    if not new_product and not certificate_differs(product, values, known):
        return None
    cert, _created = certificate_record(
        product, **_certificate_fields(values), source="import", today=clock.today(), new_product=new_product
    )
    return cert


def import_workbook(
    stream, progress: Callable[[int, int], None] | None = None, as_of: date | None = None
) -> ImportReport:
    """Import an .xlsx (file-like or bytes) into the current tenant; the caller commits.

    Raises WorkbookError when the file as a whole is refused (nothing is written then). `progress`,
    when given, is told (rows done, rows in all) every PROGRESS_EVERY rows and at the end. `as_of` is
    the date the list describes (its stars and units); a row's own "Tính đến ngày" cell wins.
    """
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotSet("import_workbook needs a current tenant")
    table = read_table(stream)
    importer = _Importer(tenant_id, table.headers, as_of)
    importer.report.unknown_columns = table.unknown_headers
    importer.report.report_only_columns = table.report_only_headers
    total = len(table.rows)
    for done, (row_number, cells) in enumerate(table.rows, start=1):
        importer.import_row(row_number, cells)
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    return importer.finish()


PROGRESS_EVERY = 50
