"""Reading a workbook: find the sheet and the header row, map its columns, collect the data rows."""

from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import dataclass
from pyexpat import ParserCreate
from typing import Any

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel, from_ISO8601

from app.core.text import one_line
from app.core.zipcheck import ZipBomb, check_inflation
from app.exchange.columns import COLUMNS, COLUMNS_BY_KEY, Column, cell_text, is_report_only, match_header

MAX_ROWS = 5000
HEADER_SCAN_ROWS = 10  # the header row may sit under a title block
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)
# What an import's workbook may inflate to, all parts together: 5,000 rows are a few MB; a 256 KB file
# holding one 256 MiB shared string must be refused before openpyxl loads it into memory.
MAX_INFLATED_BYTES = 64 * 1024 * 1024


class WorkbookError(ValueError):
    """The whole file is refused (not an .xlsx, unreadable, too many rows, a required column missing)."""


@dataclass
class Table:
    headers: dict[str, str]  # column key → header as written in the file
    rows: list[tuple[int, dict[str, Any]]]  # (Excel row number, column key → raw value)
    unknown_headers: list[str]  # headers of the header row that no column matches (ignored, reported)
    report_only_headers: list[str]  # headers of an export's report-only columns (known, ignored, reported)


def _open_workbook(stream):
    data = bytes(stream) if isinstance(stream, (bytes, bytearray, memoryview)) else stream.read()
    if data[:8] == OLE_MAGIC:
        raise WorkbookError(
            _("Tệp Excel 97-2003 (.xls) không được hỗ trợ: hãy mở bằng Excel và lưu lại dưới dạng .xlsx.")
        )
    if not data or not zipfile.is_zipfile(io.BytesIO(data)):
        raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ."))
    try:
        check_inflation(io.BytesIO(data), max_total=MAX_INFLATED_BYTES)
    except ZipBomb:
        raise WorkbookError(
            _("Tệp giải nén ra quá lớn (hơn %(mb)d MB); hãy chia thành nhiều tệp.", mb=MAX_INFLATED_BYTES // 1024**2)
        ) from None
    except Exception as error:  # a broken container (bad CRC, truncated member, unknown compression)
        raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ.")) from error
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (KeyError, BadZipFile, XML errors…)
        raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ.")) from error


def _find_header(sheet) -> tuple[int, dict[int, Column], dict[int, str], list[str], list[str]]:
    """(row number, position → column, position → header text, unknown headers, report-only headers) of the row
    naming most columns."""
    best = (0, {}, {}, [], [])
    for row_number, values in enumerate(
        sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True), start=1
    ):
        matched = {i: match_header(v) for i, v in enumerate(values)}
        matched = {i: c for i, c in matched.items() if c is not None}
        if len(matched) > len(best[1]):
            others = [v for i, v in enumerate(values) if i not in matched and cell_text(v)]
            unknown = [one_line(cell_text(v))[:100] for v in others if not is_report_only(v)]
            report_only = [one_line(cell_text(v))[:100] for v in others if is_report_only(v)]
            best = (row_number, matched, {i: one_line(cell_text(values[i])) for i in matched}, unknown, report_only)
    return best


def _rows_from(sheet, first: int):
    """(row number, values) of the sheet's rows from `first` on, the values as openpyxl's iter_rows(values_only=True)
    gives them, read straight from the sheet's XML with expat (a quarter of openpyxl's time for thousands of rows).
    Falls back to openpyxl itself when its workbook does not expose what the fast reading needs."""
    try:
        book = sheet.parent
        context = (book.shared_strings, book._date_formats, book._timedelta_formats, book.epoch)
        source = sheet._get_source()
    except AttributeError:
        yield from enumerate(sheet.iter_rows(min_row=first, values_only=True), start=first)
        return
    with source:
        yield from _SheetRows(*context).parse(source, first)


class _SheetRows:
    """The rows of a worksheet's XML: <row r="3"><c r="B3" t="s" s="1"><v>12</v></c>…</row>, as openpyxl reads them
    with data_only (a formula's cached value; shared, inline and rich strings as plain text; numbers as int or float;
    dates from the cell's number format; booleans; error codes as text)."""

    def __init__(self, shared_strings, date_formats, timedelta_formats, epoch):
        self.shared_strings, self.epoch = shared_strings, epoch
        self.date_formats, self.timedelta_formats = date_formats, timedelta_formats

    def parse(self, source, first: int):
        parser = ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = _no_doctype  # a worksheet never declares one (entity expansion)
        parser.StartElementHandler, parser.EndElementHandler = self._start, self._end
        parser.CharacterDataHandler = self._text
        self.done: list[tuple[int, list]] = []
        self.row_number, self.expected = 0, first
        self.cells: list | None = None
        self.column, self.in_cell = 0, False
        self.chunks: list[str] | None = None  # the text of the <v> or <t> being read
        self.depth = 0  # inside <rPh> (phonetic reading: not part of the text)
        while block := source.read(1 << 16):
            parser.Parse(block, False)
            yield from self.done
            self.done.clear()
        parser.Parse(b"", True)
        yield from self.done

    def _start(self, name: str, attrs: dict) -> None:
        tag = name.rpartition(" ")[2]
        if tag == "c":
            reference, self.kind, self.style = attrs.get("r"), attrs.get("t", "n"), int(attrs.get("s") or 0)
            self.column = _column(reference.rstrip("0123456789")) if reference else self.column + 1
            self.value, self.inline, self.in_cell = None, [], True
        elif self.in_cell and (tag == "v" or (tag == "t" and not self.depth)):
            self.chunks = []
        elif tag == "rPh":
            self.depth += 1
        elif tag == "row":
            number = attrs.get("r")
            self.row_number = int(float(number)) if number else self.row_number + 1
            self.cells, self.column = [], 0

    def _text(self, data: str) -> None:
        if self.chunks is not None:
            self.chunks.append(data)

    def _end(self, name: str) -> None:
        tag = name.rpartition(" ")[2]
        if tag == "v" and self.chunks is not None:
            self.value, self.chunks = "".join(self.chunks) or None, None
        elif tag == "t" and self.chunks is not None:
            self.inline.append("".join(self.chunks))
            self.chunks = None
        elif tag == "rPh":
            self.depth -= 1
        elif tag == "c":
            self.in_cell = False
            if self.cells is None:
                return  # a cell outside any row
            self.cells.extend([None] * (self.column - len(self.cells)))  # as long as its last cell, like openpyxl's
            self.cells[self.column - 1] = self._value()
        elif tag == "row" and self.cells is not None:
            if self.row_number >= self.expected:  # a row out of order is skipped, as openpyxl skips it
                self.done.append((self.row_number, self.cells))
                self.expected = self.row_number + 1
            self.cells = None

    def _value(self):
        kind, value = self.kind, self.value
        if kind == "inlineStr":
            return "".join(self.inline)
        if value is None:
            return None
        if kind == "n":
            number = float(value) if ("." in value or "e" in value or "E" in value) else int(value)
            if self.style in self.date_formats:
                try:
                    return from_excel(number, self.epoch, timedelta=self.style in self.timedelta_formats)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.shared_strings[int(value)]
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return from_ISO8601(value)
        return value  # "str" (a formula's text), "e" (an error code)


def _no_doctype(*_args) -> None:
    raise ValueError("a worksheet with a DOCTYPE")


@functools.cache
def _column(letters: str) -> int:
    """'B' → 2, 'AA' → 27."""
    number = 0
    for char in letters:
        number = number * 26 + ord(char.upper()) - 64
    return number


def read_table(stream) -> Table:
    workbook = _open_workbook(stream)
    try:
        found = None
        for sheet in workbook.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # a chart sheet
            sheet.reset_dimensions()  # some writers store a wrong <dimension>
            header = _find_header(sheet)
            present = {c.key for c in header[1].values()}
            if found is None or len(header[1]) > len(found[1][1]):
                found = (sheet, header)
            if all(c.key in present for c in COLUMNS if c.required):
                found = (sheet, header)
                break
        if found is None:
            raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ."))
        sheet, (header_row, positions, texts, unknown, report_only) = found
        present = [c.key for c in positions.values()]
        missing = [c.template_header for c in COLUMNS if c.required and c.key not in present]
        if missing:
            raise WorkbookError(_("Thiếu cột bắt buộc: %(columns)s.", columns=", ".join(missing)))
        for key in set(present):
            if present.count(key) > 1 and COLUMNS_BY_KEY[key].parser is not None:
                raise WorkbookError(
                    _("Cột '%(column)s' xuất hiện nhiều lần.", column=COLUMNS_BY_KEY[key].template_header)
                )
        headers = {positions[i].key: texts[i] for i in positions}
        used = {i: c.key for i, c in positions.items() if c.parser is not None}
        rows = []
        for row_number, values in _rows_from(sheet, header_row + 1):
            # A row ends at its last cell: the columns after it are empty (a required one is then missing).
            cells = {key: values[i] if i < len(values) else None for i, key in used.items()}
            if all(cell_text(v) is None for v in cells.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise WorkbookError(_("Tệp có hơn %(max)s dòng dữ liệu; hãy chia thành nhiều tệp.", max=MAX_ROWS))
            rows.append((row_number, cells))
        return Table(headers, rows, unknown, report_only)
    except WorkbookError:
        raise
    except Exception as error:  # a corrupt sheet shows up only while reading it
        raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ.")) from error
    finally:
        workbook.close()
