"""The blank import workbook: the headers (bold, required ones with '*') and a guide sheet."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from app.exchange.columns import COLUMNS
from app.exchange.lookups import COMMUNE_KINDS, load_product_sets, tenant_act
from app.exchange.reader import MAX_ROWS
from app.extensions import db
from tenants.context import current_tenant_id
from tenants.models import AdminUnit

DATA_SHEET_TITLE = "Sản phẩm OCOP"
GUIDE_SHEET_TITLE = "Hướng dẫn"

KIND_CHOICES = "Hợp tác xã,Doanh nghiệp,Tổ hợp tác,Hộ kinh doanh,Hộ sản xuất,Cơ sở sản xuất"
TRADEMARK_CHOICES = "Chưa có,Đang đăng ký,Đã đăng ký,Nhãn hiệu tập thể,Chỉ dẫn địa lý"


def _column_letter(key: str) -> str:
    return get_column_letter([c.key for c in COLUMNS].index(key) + 1)


def _validity(unit: AdminUnit) -> str:
    """'01/07/2025 –', '– 30/06/2025' or '' (always valid), as the guide shows a unit's dates."""
    if unit.valid_from is None and unit.valid_to is None:
        return ""
    start = f"{unit.valid_from:%d/%m/%Y}" if unit.valid_from else ""
    end = f"{unit.valid_to:%d/%m/%Y}" if unit.valid_to else ""
    return f"{start} – {end}".strip()


def import_template() -> bytes:
    """A blank workbook: the headers (bold, required ones with '*'), and a sheet explaining them.

    When a tenant is current, the guide lists the product sets of its act and its communes.
    """
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET_TITLE
    sheet.append([c.template_header for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[cell.column_letter].width = max(12, min(40, len(str(cell.value)) + 6))
    sheet.freeze_panes = "A2"
    last = MAX_ROWS + 1
    for key, choices in (("kind", KIND_CHOICES), ("trademark", TRADEMARK_CHOICES), ("stars", "3,4,5")):
        # Suggestions only: other spellings ("Công ty TNHH …") are accepted too.
        validation = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True, showErrorMessage=False)
        letter = _column_letter(key)
        validation.add(f"{letter}2:{letter}{last}")
        sheet.add_data_validation(validation)

    guide = workbook.create_sheet(GUIDE_SHEET_TITLE)
    notes = (
        "Mỗi dòng là một sản phẩm; thông tin chủ thể ghi lặp lại trên mỗi dòng sản phẩm của chủ thể đó.",
        "Cột có dấu * là bắt buộc. Thứ tự cột tùy ý; tên cột không phân biệt hoa thường, dấu; cột khác được bỏ qua và nêu tên trong báo cáo.",
        "Dòng hợp lệ được nhập; dòng có lỗi không được nhập và được báo lại kèm số dòng và lý do.",
        "Nhập lại cùng tệp không tạo bản ghi trùng; ô đã sửa sẽ cập nhật dữ liệu; ô để trống giữ nguyên dữ liệu đã có.",
        f"Tối đa {MAX_ROWS} dòng dữ liệu mỗi tệp.",
    )
    guide.append(["Hướng dẫn nhập chủ thể và sản phẩm OCOP"])
    guide["A1"].font = Font(bold=True, size=13)
    for note in notes:
        guide.append([note])
    guide.append([])
    guide.append(["Cột", "Tên tiếng Anh", "Bắt buộc", "Nội dung và giá trị cho phép"])
    for cell in guide[guide.max_row]:
        cell.font = bold
    for column in COLUMNS:
        guide.append([column.template_header, column.header_en, "Có" if column.required else "", column.help])
        for cell in guide[guide.max_row]:
            cell.alignment = wrap

    tenant_id = current_tenant_id()
    act = tenant_act(tenant_id)
    guide.append([])
    guide.append([f"Bộ sản phẩm ({act})", "Mã", "", "Tên"])
    for cell in guide[guide.max_row]:
        cell.font = bold
    for node in load_product_sets(act):
        guide.append(["", node.code, "", node.name])
    if tenant_id is not None:
        units = list(db.session.scalars(select(AdminUnit).order_by(AdminUnit.code)))
        by_id = {u.id: u for u in units}
        for title, communes in (("Huyện/thị xã/thành phố của tỉnh", False), ("Xã/phường/thị trấn của tỉnh", True)):
            guide.append([])
            guide.append([title, "Mã", "Hiệu lực", "Tên (thuộc)"])
            for cell in guide[guide.max_row]:
                cell.font = bold
            for unit in units:
                if (unit.kind in COMMUNE_KINDS) != communes:
                    continue
                parent = by_id.get(unit.parent_id)
                label = f"{unit.name} ({parent.name})" if parent is not None else unit.name
                guide.append(["", unit.code, _validity(unit), label])
    for letter, width in (("A", 34), ("B", 30), ("C", 24), ("D", 90)):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows():  # names from reference data are text, never formulas (openpyxl reads "=…" as one)
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
