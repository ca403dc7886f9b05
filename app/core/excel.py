"""Export any list to .xlsx (streamed from a write-only workbook).

Memory stays flat however long the list: rows are consumed one by one (pass an iterator, e.g. a
`yield_per` result), the write-only workbook keeps them in a temporary file, and the response streams
that file.

Text is always written as text: openpyxl would store a string that starts with "=" as a formula, so a
product name such as "=HYPERLINK(...)" typed by a user would run in the officer's spreadsheet.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal

from flask import Response, send_file
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

# Text starting with these is read by Excel (or a sheet it is pasted into, or a CSV saved from it) as a
# formula: formula injection. Tab and CR/LF lead some importers to drop them and read what follows.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cell(sheet, value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no timezones; values are shown as stored
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    if value is not None and not isinstance(value, (str, int, float, datetime, date, time, Decimal)):
        value = str(value)  # lazy translations, enums: as the text they show
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return text_cell(sheet, value)
    return value


def text_cell(sheet, value: str) -> WriteOnlyCell:
    """A cell that holds the text as typed: a string, never a formula (openpyxl makes "=…" one), quoted
    so Excel keeps it text when edited; read back (the import's data_only) it is the same text."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def xlsx_response(filename: str, sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> Response:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    bold = Font(bold=True)
    header_cells = []
    for title in headers:
        cell = text_cell(sheet, str(title))  # headers may carry names (criteria parts, units): text too
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_cell(sheet, v) for v in row])
    spool = tempfile.TemporaryFile()  # removed when the response closes it
    workbook.save(spool)
    spool.seek(0)
    response = send_file(
        spool,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=filename,
        max_age=0,
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
