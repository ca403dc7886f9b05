"""Reading a workbook: find the sheet and the header row, map its columns, collect the data rows."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from openpyxl import load_workbook

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
        for row_number, values in enumerate(
            sheet.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1
        ):
            cells = {key: values[i] for i, key in used.items() if i < len(values)}
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
