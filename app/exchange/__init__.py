"""Importing producers and products from the provinces' Excel layout: one row per product.

columns (the layout and its parsers) → reader (sheet, header row, data rows) → lookups (units,
product sets) → writer (match and write each row); template (the blank workbook), jobs (the stored
upload and its background import), views (the pages).
"""

from app.exchange.reader import WorkbookError
from app.exchange.template import import_template
from app.exchange.writer import ImportReport, RowError, import_workbook

__all__ = ["ImportReport", "RowError", "WorkbookError", "import_template", "import_workbook"]
