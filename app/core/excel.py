"""Export any list to .xlsx (streamed from a write-only workbook).

Text is always written as text: openpyxl would store a string that starts with "=" as a formula, so a
product name such as "=HYPERLINK(...)" typed by a user would run in the officer's spreadsheet.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font


def _cell(sheet, value):
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # kept as the text it is, never evaluated
        return cell
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no timezones; values are shown as stored
    if isinstance(value, (list, tuple)):
        return _cell(sheet, ", ".join(str(v) for v in value))
    return value


def xlsx_response(filename: str, sheet_title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> Response:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    bold = Font(bold=True)
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Response(
        buffer.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
