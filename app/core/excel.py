"""Export any list to .xlsx (streamed from a write-only workbook)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font


def _cell(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no timezones; values are shown as stored
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
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
        sheet.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return Response(
        buffer.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
