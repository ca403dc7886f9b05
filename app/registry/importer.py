"""Importing producers and products from the provinces' Excel layout: one row per product.

The columns are declared once (COLUMNS): the reader matches a file's headers against them (case-,
spacing- and diacritic-insensitive, any order, extra columns ignored) and `import_template()` writes
the blank workbook from them. `import_workbook()` runs inside the current tenant (the isolation
hooks add tenant_id) and does not commit: the caller commits once at the end.

Rules:
- every row is validated as a whole first; a valid row is then written inside its own SAVEPOINT, so a
  row is imported completely or not at all, and a bad row is reported with its Excel row number;
- idempotent: a producer is matched by its registration number when the row gives one, else by
  (name, commune); a product by (producer, name). Names are compared NFC, case- and
  spacing-insensitively (diacritics count: "Chè" and "Chế" are different products);
- an empty optional cell keeps the stored value (the web forms may have enriched the record);
- within one file, rows of the same producer must not contradict each other, and a product may
  appear once: otherwise a re-import would flip values back and forth.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.core.i18n import nfc
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from app.registry.services import taxonomy_act
from tenants.context import TenantNotSet, current_tenant_id
from tenants.models import AdminUnit, Tenant

MAX_ROWS = 5000
HEADER_SCAN_ROWS = 10  # the header row may sit under a title block
DATA_SHEET_TITLE = "Sản phẩm OCOP"
GUIDE_SHEET_TITLE = "Hướng dẫn"
DEFAULT_ACT = "148/QĐ-TTg"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls)


class WorkbookError(ValueError):
    """The whole file is refused (not an .xlsx, unreadable, too many rows, a required column missing)."""


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
    # Stars are certificates now (a decision number and date): rows whose star was read but not recorded.
    stars_need_decision: list[int] = field(default_factory=list)

    @property
    def failed_rows(self) -> list[int]:
        return sorted({e.row_number for e in self.errors})


class CellError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------------------------ text helpers


def fold(value: str) -> str:
    """Lower case, no diacritics (đ → d), single spaces: 'Xã  Phúc HOÀ' → 'xa phuc hoa'."""
    text = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def name_key(value: str) -> str:
    """How producer and product names are compared: NFC, case- and spacing-insensitive."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def _words(value: str) -> str:
    """fold() and punctuation to spaces: 'Nhãn hiệu / CDĐL*' → 'nhan hieu cddl'."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(value)).replace("_", " ").split())


def _cell_text(raw) -> str | None:
    """A cell as NFC text, stripped; None when empty. 12.0 → '12' (Excel stores numbers as floats)."""
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime):
        raw = raw.date() if raw.time() == datetime.min.time() else raw
    text = nfc(str(raw))
    return text or None


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------------------ parsers


def _text(max_length: int | None = None, one_line: bool = True):
    def parse(text: str, raw, lookups: _Lookups):
        value = _one_line(text) if one_line else text
        if max_length is not None and len(value) > max_length:
            raise CellError(_("Quá dài (tối đa %(max)s ký tự)", max=max_length))
        return value

    return parse


def _non_negative_int(limit: int):
    def parse(text: str, raw, lookups: _Lookups) -> int:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = raw
        else:
            digits = re.sub(r"\s*(vnđ|vnd|đồng|đ|₫)$", "", text, flags=re.IGNORECASE).strip()
            digits = digits.replace("\u00a0", " ")
            if re.fullmatch(r"\d+", digits):
                number = int(digits)
            elif re.fullmatch(r"\d{1,3}(?:([., ])\d{3})(?:\1\d{3})*", digits):
                number = int(re.sub(r"\D", "", digits))  # 1.500.000.000 or 1,500,000,000
            else:
                raise CellError(_("Không phải số nguyên không âm: '%(value)s'", value=text))
        if isinstance(number, float):
            if not number.is_integer():
                raise CellError(_("Không phải số nguyên không âm: '%(value)s'", value=text))
            number = int(number)
        if number < 0 or number > limit:
            raise CellError(_("Không phải số nguyên không âm: '%(value)s'", value=text))
        return number

    return parse


def _phone(text: str, raw, lookups: _Lookups) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        text = str(int(raw))
        if len(text) == 9:  # a number cell lost the leading 0 of a Vietnamese phone number
            text = "0" + text
    value = _one_line(text)
    if len(value) > 32 or not re.fullmatch(r"[0-9+().\s\-/,;]+", value) or len(re.sub(r"\D", "", value)) < 6:
        raise CellError(_("Số điện thoại không hợp lệ: '%(value)s'", value=text))
    return value


def _email(text: str, raw, lookups: _Lookups) -> str:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise CellError(_("Email không hợp lệ: '%(value)s'", value=text)) from None
    if len(result.normalized) > 254:
        raise CellError(_("Email không hợp lệ: '%(value)s'", value=text))
    return result.normalized


KIND_ALIASES = {
    "htx": "htx",
    "hop tac xa": "htx",
    "doanh nghiep": "enterprise",
    "dn": "enterprise",
    "cong ty": "enterprise",
    "to hop tac": "coop_group",
    "tht": "coop_group",
    "ho kinh doanh": "household",
    "hkd": "household",
    "ho san xuat": "household",
    "ho san xuat kinh doanh": "household",
    "co so san xuat": "household",
    "co so": "household",
    "ho gia dinh": "household",
    "enterprise": "enterprise",
    "coop group": "coop_group",
    "household": "household",
}
# Longer names starting with these words: "Công ty TNHH …", "Hợp tác xã nông nghiệp …".
KIND_PREFIXES = (
    "hop tac xa",
    "htx",
    "cong ty",
    "doanh nghiep",
    "to hop tac",
    "ho kinh doanh",
    "ho san xuat",
    "co so san xuat",
    "co so",
)


def _kind(text: str, raw, lookups: _Lookups) -> str:
    words = _words(text)
    if words in KIND_ALIASES:
        return KIND_ALIASES[words]
    for prefix in KIND_PREFIXES:
        if words.startswith(prefix + " "):
            return KIND_ALIASES[prefix]
    raise CellError(_("Loại hình chủ thể không hợp lệ: '%(value)s'", value=text))


TRADEMARK_ALIASES = {
    "chua co": "none",
    "khong": "none",
    "khong co": "none",
    "chua": "none",
    "dang dang ky": "applied",
    "dang lam thu tuc": "applied",
    "da nop don": "applied",
    "da dang ky": "registered",
    "da dang ky nhan hieu": "registered",
    "da co": "registered",
    "da co nhan hieu": "registered",
    "nhan hieu tap the": "collective",
    "chi dan dia ly": "geographical_indication",
    "cddl": "geographical_indication",
    "none": "none",
    "applied": "applied",
    "registered": "registered",
    "collective": "collective",
    "geographical indication": "geographical_indication",
}


def _trademark(text: str, raw, lookups: _Lookups) -> str:
    status = TRADEMARK_ALIASES.get(_words(text))
    if status is None:
        raise CellError(_("Nhãn hiệu / CDĐL không hợp lệ: '%(value)s'", value=text))
    return status


def _stars(text: str, raw, lookups: _Lookups) -> int:
    value = re.sub(r"\s*(sao|\*|★)+$", "", fold(text)).strip()
    if value not in ("3", "4", "5"):
        raise CellError(_("Số sao không hợp lệ: '%(value)s' (chỉ nhận 3, 4 hoặc 5)", value=text))
    return int(value)


def _countries(text: str, raw, lookups: _Lookups) -> list[str]:
    countries: list[str] = []
    for part in re.split(r"[,;\n]", text):
        country = _one_line(part)
        if not country:
            continue
        if len(country) > 64:
            raise CellError(_("Quá dài (tối đa %(max)s ký tự)", max=64))
        if name_key(country) not in {name_key(c) for c in countries}:
            countries.append(country)
    return countries


def _product_set(text: str, raw, lookups: _Lookups) -> int:
    return lookups.product_set(text)


def _unit(text: str, raw, lookups: _Lookups) -> int:
    return lookups.unit(text)


# ------------------------------------------------------------------------------------ columns


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # Vietnamese, as in the template (required ones get a "*" there)
    header_en: str
    required: bool = False
    parser: Callable[[str, Any, _Lookups], Any] | None = None  # None: read and ignored (STT)
    help: str = ""
    aliases: tuple[str, ...] = ()
    missing: Any = None  # message for an empty required cell (lazy)

    @property
    def template_header(self) -> str:
        return f"{self.header}*" if self.required else self.header


COLUMNS: tuple[Column, ...] = (
    Column(
        "index", "STT", "No.", aliases=("TT", "Số thứ tự"), help="Số thứ tự, không bắt buộc; hệ thống bỏ qua cột này."
    ),
    Column(
        "product_name",
        "Tên sản phẩm",
        "Product name",
        True,
        _text(300),
        aliases=("Sản phẩm", "Tên SP", "Tên sản phẩm OCOP"),
        missing=_l("Thiếu tên sản phẩm"),
        help="Tên sản phẩm (tối đa 300 ký tự). Một chủ thể không có hai sản phẩm trùng tên.",
    ),
    Column(
        "product_set",
        "Bộ sản phẩm",
        "Product set",
        True,
        _product_set,
        aliases=("Mã bộ sản phẩm", "Bộ SP", "Bộ sản phẩm OCOP"),
        missing=_l("Thiếu bộ sản phẩm"),
        help="Mã bộ sản phẩm (ví dụ I.1.2) hoặc đúng tên bộ sản phẩm theo bảng phân loại (danh sách ở cuối trang này).",
    ),
    Column(
        "producer_name",
        "Tên chủ thể",
        "Producer name",
        True,
        _text(300),
        aliases=("Chủ thể", "Tên chủ thể OCOP", "Chủ thể OCOP"),
        missing=_l("Thiếu tên chủ thể"),
        help="Tên hợp tác xã, doanh nghiệp, tổ hợp tác hoặc hộ sản xuất (tối đa 300 ký tự). Các sản phẩm của "
        "cùng chủ thể ghi trên nhiều dòng với cùng tên (và cùng mã số đăng ký nếu có).",
    ),
    Column(
        "kind",
        "Loại hình chủ thể",
        "Producer type",
        True,
        _kind,
        aliases=("Loại hình", "Loại hình tổ chức", "Loại hình doanh nghiệp"),
        missing=_l("Thiếu loại hình chủ thể"),
        help="Hợp tác xã (HTX); Doanh nghiệp (Công ty …); Tổ hợp tác; Hộ kinh doanh / Hộ sản xuất / Cơ sở sản xuất.",
    ),
    Column(
        "registration_no",
        "Mã số đăng ký kinh doanh",
        "Business registration number",
        False,
        _text(64),
        aliases=("Mã số ĐKKD", "Số ĐKKD", "Mã số doanh nghiệp", "Mã số thuế", "MST", "Registration number"),
        help="Mã số doanh nghiệp / HTX / hộ kinh doanh (tối đa 64 ký tự). Khi có, chủ thể được nhận biết theo "
        "mã này; khi không có, theo tên và xã/phường.",
    ),
    Column("address", "Địa chỉ", "Address", False, _text(), help="Địa chỉ của chủ thể (thôn, xóm, số nhà…)."),
    Column(
        "unit",
        "Xã/phường",
        "Commune/ward",
        False,
        _unit,
        aliases=("Xã, phường", "Xã/phường/thị trấn", "Xã, phường, thị trấn", "Xã", "Commune"),
        help='Tên xã/phường/thị trấn của tỉnh, có hoặc không có chữ "Xã", "Phường", "Thị trấn", '
        'không phân biệt dấu ("Xã Phúc Hòa" = "phuc hoa"). Nếu tỉnh có hai xã trùng tên, ghi thêm '
        'huyện sau dấu phẩy: "Xã Tân Sơn, Huyện Lục Ngạn". Có thể ghi một huyện/thị xã/thành phố nếu ghi rõ '
        'chữ "Huyện", "Thị xã", "Thành phố". Tên không có trong danh mục của tỉnh là lỗi.',
    ),
    Column(
        "representative",
        "Người đại diện",
        "Representative",
        False,
        _text(200),
        aliases=("Người đại diện theo pháp luật", "Đại diện", "Chủ hộ"),
        help="Họ tên người đại diện (tối đa 200 ký tự).",
    ),
    Column(
        "phone",
        "Điện thoại",
        "Phone",
        False,
        _phone,
        aliases=("Số điện thoại", "SĐT", "ĐT"),
        help="Số điện thoại; ô kiểu số mất số 0 đầu được tự thêm lại.",
    ),
    Column(
        "email",
        "Email",
        "Email",
        False,
        _email,
        aliases=("Thư điện tử", "E-mail"),
        help="Địa chỉ thư điện tử hợp lệ, ví dụ htx@example.vn.",
    ),
    Column(
        "capital",
        "Vốn",
        "Capital",
        False,
        _non_negative_int(2**63 - 1),
        aliases=("Vốn (VNĐ)", "Vốn (đồng)", "Vốn điều lệ", "Vốn kinh doanh", "Capital (VND)"),
        help="Vốn, đơn vị đồng, số nguyên ≥ 0: 1500000000 hoặc 1.500.000.000.",
    ),
    Column(
        "workforce",
        "Lao động",
        "Workforce",
        False,
        _non_negative_int(2**31 - 1),
        aliases=("Số lao động", "Lao động (người)"),
        help="Số lao động, số nguyên ≥ 0.",
    ),
    Column(
        "raw_material_area",
        "Diện tích vùng nguyên liệu",
        "Raw material area",
        False,
        _text(one_line=False),
        aliases=("Vùng nguyên liệu",),
        help='Ghi tự do, ví dụ "15 ha".',
    ),
    Column(
        "capacity",
        "Công suất",
        "Capacity",
        False,
        _text(one_line=False),
        aliases=("Quy mô", "Công suất (sản lượng)"),
        help='Ghi tự do, ví dụ "20 tấn/năm".',
    ),
    Column(
        "markets",
        "Thị trường",
        "Markets",
        False,
        _text(one_line=False),
        aliases=("Thị trường tiêu thụ",),
        help='Ghi tự do, ví dụ "Trong tỉnh, Hà Nội".',
    ),
    Column(
        "export_countries",
        "Nước xuất khẩu",
        "Export countries",
        False,
        _countries,
        aliases=("Xuất khẩu", "Thị trường xuất khẩu"),
        help='Các nước, cách nhau bằng dấu phẩy: "Nhật Bản, Hàn Quốc".',
    ),
    Column(
        "traceability",
        "Truy xuất nguồn gốc",
        "Traceability",
        False,
        _text(200),
        aliases=("Truy xuất",),
        help='Ghi tự do (tối đa 200 ký tự), ví dụ "Tem QR".',
    ),
    Column(
        "trademark",
        "Nhãn hiệu / CDĐL",
        "Trademark / GI",
        False,
        _trademark,
        aliases=("Nhãn hiệu", "Tình trạng nhãn hiệu", "Nhãn hiệu, chỉ dẫn địa lý", "Trademark"),
        help="Một trong: Chưa có; Đang đăng ký; Đã đăng ký; Nhãn hiệu tập thể; Chỉ dẫn địa lý.",
    ),
    Column(
        "stars",
        "Số sao hiện có",
        "Current stars",
        False,
        _stars,
        aliases=("Số sao", "Hạng sao", "Xếp hạng sao", "Stars"),
        help="3, 4 hoặc 5 nếu sản phẩm đã được công nhận; để trống nếu chưa.",
    ),
)
COLUMNS_BY_KEY = {c.key: c for c in COLUMNS}
PRODUCER_FIELDS = {  # column key → Producer attribute
    "producer_name": "name",
    "kind": "kind",
    "registration_no": "registration_no",
    "address": "address",
    "unit": "unit_id",
    "representative": "representative",
    "phone": "phone",
    "email": "email",
    "capital": "capital_vnd",
    "workforce": "workforce",
}
PRODUCT_FIELDS = {  # column key → Product attribute
    "product_name": "name",
    "product_set": "product_set_id",
    "unit": "unit_id",
    "raw_material_area": "raw_material_area",
    "capacity": "capacity",
    "markets": "markets",
    "export_countries": "export_countries",
    "traceability": "traceability",
    "trademark": "trademark_status",
}


def _header_keys(text: str) -> set[str]:
    """The forms a header is matched by: its words, and its words without a '(…)' part."""
    keys = {_words(text)}
    without_brackets = re.sub(r"\([^)]*\)", " ", text)
    keys.add(_words(without_brackets))
    return {k for k in keys if k}


def _build_header_index() -> dict[str, Column]:
    index: dict[str, Column] = {}
    for column in COLUMNS:
        for header in (column.header, column.header_en, *column.aliases):
            key = _words(header)
            if index.get(key, column) is not column:
                raise RuntimeError(f"header {header!r} is ambiguous")
            index[key] = column
    return index


HEADER_INDEX = _build_header_index()


def match_header(text) -> Column | None:
    label = _cell_text(text)
    if label is None:
        return None
    for key in _header_keys(label):
        if key in HEADER_INDEX:
            return HEADER_INDEX[key]
    return None


# ------------------------------------------------------------------------------------ reference data

COMMUNE_KINDS = frozenset({"commune", "ward", "township"})
COMMUNE_PREFIXES = ("thi tran", "phuong", "xa", "tt", "p", "x")
DISTRICT_PREFIXES = ("thanh pho", "thi xa", "huyen", "quan", "tp", "tx", "h", "q")


def _split_unit_prefix(text: str) -> tuple[str | None, str]:
    """'Xã Phúc Hòa' → ('commune', 'phuc hoa'); 'Huyện Lục Ngạn' → ('district', 'luc ngan')."""
    words = fold(text).replace(".", " ").split()
    for level, prefixes in (("commune", COMMUNE_PREFIXES), ("district", DISTRICT_PREFIXES)):
        for prefix in prefixes:
            prefix_words = prefix.split()
            if words[: len(prefix_words)] == prefix_words and len(words) > len(prefix_words):
                return level, " ".join(words[len(prefix_words) :])
    return None, " ".join(words)


class _Lookups:
    """The tenant's communes and the product sets of its act, loaded once per import."""

    def __init__(self, units: list[AdminUnit], sets: list[TaxonomyNode]):
        self.units_by_id = {u.id: u for u in units}
        self.units_by_code = {u.code: u for u in units}
        self.units: dict[tuple[str, str], list[AdminUnit]] = {}
        for unit in units:
            level = "commune" if unit.kind in COMMUNE_KINDS else "district"
            self.units.setdefault((level, _split_unit_prefix(unit.name)[1]), []).append(unit)
        self.sets_by_code = {s.code.casefold(): s.id for s in sets}
        self.sets_by_name: dict[str, int] = {}
        for node in sets:
            self.sets_by_name.setdefault(fold(node.name), node.id)
            self.sets_by_name.setdefault(fold(node.name_en), node.id)

    def unit(self, text: str) -> int:
        if text in self.units_by_code:
            return self.units_by_code[text].id
        head, *qualifiers = [p for p in re.split(r"\s*[,;]\s*|\s+[-–]\s+", text) if p.strip()] or [text]
        level, rest = _split_unit_prefix(head)
        keys = [(level or "commune", rest)]
        if level:  # 'Xa Lý' is a name, not 'Xã Lý'
            keys.append(("commune", " ".join(fold(head).replace(".", " ").split())))
        candidates = next((self.units[k] for k in keys if k in self.units), [])
        if not candidates:
            raise CellError(_("Không tìm thấy xã/phường '%(value)s' trong tỉnh", value=text))
        if len(candidates) > 1 and qualifiers:  # the district only decides between namesakes
            wanted = {_split_unit_prefix(q)[1] for q in qualifiers}
            candidates = [
                u
                for u in candidates
                if u.parent_id in self.units_by_id
                and _split_unit_prefix(self.units_by_id[u.parent_id].name)[1] in wanted
            ] or candidates
        if len(candidates) > 1:
            today = date.today()
            candidates = [u for u in candidates if u.is_valid_on(today)] or candidates
        if len(candidates) > 1:
            example = candidates[0].name
            parent = self.units_by_id.get(candidates[0].parent_id)
            if parent is not None:
                example = f"{example}, {parent.name}"
            raise CellError(
                _(
                    "Có nhiều xã/phường tên '%(value)s'; hãy ghi thêm huyện, ví dụ '%(example)s'",
                    value=text,
                    example=example,
                )
            )
        return candidates[0].id

    def product_set(self, text: str) -> int:
        folded = fold(text)
        code = folded.rstrip(".")
        if code in self.sets_by_code:
            return self.sets_by_code[code]
        if folded in self.sets_by_name:
            return self.sets_by_name[folded]
        leading = re.match(r"([ivx]+(?:\.\d+)+)\.?(?:\s|$)", folded)  # "I.1.2 - Thịt, thủy sản…"
        if leading and leading.group(1) in self.sets_by_code:
            return self.sets_by_code[leading.group(1)]
        raise CellError(_("Không tìm thấy bộ sản phẩm '%(value)s'", value=text))


def _tenant_act(tenant_id: int | None) -> str:
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    return taxonomy_act(tenant.criteria_act) if tenant is not None else DEFAULT_ACT


def _load_product_sets(act: str) -> list[TaxonomyNode]:
    return list(
        db.session.scalars(
            select(TaxonomyNode)
            .where(TaxonomyNode.act == act, TaxonomyNode.level == "set")
            .order_by(TaxonomyNode.position)
        )
    )


# ------------------------------------------------------------------------------------ reading


@dataclass
class _Table:
    headers: dict[str, str]  # column key → header as written in the file
    rows: list[tuple[int, dict[str, Any]]]  # (Excel row number, column key → raw value)


def _open_workbook(stream):
    data = bytes(stream) if isinstance(stream, (bytes, bytearray, memoryview)) else stream.read()
    if data[:8] == OLE_MAGIC:
        raise WorkbookError(
            _("Tệp Excel 97-2003 (.xls) không được hỗ trợ: hãy mở bằng Excel và lưu lại dưới dạng .xlsx.")
        )
    if not data or not zipfile.is_zipfile(io.BytesIO(data)):
        raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ."))
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (KeyError, BadZipFile, XML errors…)
        raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ.")) from error


def _find_header(sheet) -> tuple[int, dict[int, Column], dict[int, str]]:
    """(row number, position → column, position → header text) of the row naming most columns."""
    best = (0, {}, {})
    for row_number, values in enumerate(
        sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True), start=1
    ):
        matched = {i: match_header(v) for i, v in enumerate(values)}
        matched = {i: c for i, c in matched.items() if c is not None}
        if len(matched) > len(best[1]):
            best = (row_number, matched, {i: _one_line(_cell_text(values[i])) for i in matched})
    return best


def _read_table(stream) -> _Table:
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
        sheet, (header_row, positions, texts) = found
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
            if all(_cell_text(v) is None for v in cells.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise WorkbookError(_("Tệp có hơn %(max)s dòng dữ liệu; hãy chia thành nhiều tệp.", max=MAX_ROWS))
            rows.append((row_number, cells))
        return _Table(headers, rows)
    except WorkbookError:
        raise
    except Exception as error:  # a corrupt sheet shows up only while reading it
        raise WorkbookError(_("Tệp không phải là tệp Excel .xlsx hợp lệ.")) from error
    finally:
        workbook.close()


# ------------------------------------------------------------------------------------ importing


def _reg_key(value: str) -> str:
    return "".join(value.split()).upper()


class _Importer:
    def __init__(self, tenant_id: int, headers: dict[str, str]):
        self.headers = headers
        self.report = ImportReport()
        self.lookups = _Lookups(list(db.session.scalars(select(AdminUnit))), _load_product_sets(_tenant_act(tenant_id)))
        self.by_reg: dict[str, Producer] = {}
        self.by_name: dict[str, list[Producer]] = {}
        self.indexed: dict[int, tuple[str | None, str]] = {}  # producer id → (reg key, name key) indexed
        for producer in db.session.scalars(select(Producer).order_by(Producer.id)):
            self._index_producer(producer)
        self.products: dict[tuple[int, str], Product] = {}
        for product in db.session.scalars(select(Product).order_by(Product.id)):
            self.products.setdefault((product.producer_id, name_key(product.name)), product)
        self.created_producers: set[int] = set()
        self.updated_producers: set[int] = set()
        self.producer_rows: dict[int, dict[str, tuple[Any, int]]] = {}  # id → attr → (value, first row)
        self.product_rows: dict[tuple[int, str], int] = {}

    # -- indexes (updated only after a row's savepoint is released)
    def _index_producer(self, producer: Producer) -> None:
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

    def _find_producer(self, values: dict) -> Producer | None:
        registration_no = values.get("registration_no")
        if registration_no and _reg_key(registration_no) in self.by_reg:
            return self.by_reg[_reg_key(registration_no)]
        pool = self.by_name.get(name_key(values["producer_name"]), [])
        if registration_no:  # one with another registration number is another producer
            pool = [p for p in pool if not p.registration_no]
        unit_id = values.get("unit")
        if unit_id is not None:
            same_unit = [p for p in pool if p.unit_id == unit_id]
            if same_unit:
                return same_unit[0]
            pool = [p for p in pool if p.unit_id is None]
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
        try:
            producer = self._find_producer(values)
        except CellError as error:
            self._error(row, "producer_name", error.message)
            return
        if values.get("stars") is not None:
            self.report.stars_need_decision.append(row)
        producer_values = {attr: values[key] for key, attr in PRODUCER_FIELDS.items() if values.get(key) is not None}
        product_values = {attr: values[key] for key, attr in PRODUCT_FIELDS.items() if values.get(key) is not None}
        product_key = name_key(values["product_name"])
        product = None
        if producer is not None:
            if producer.id in self.producer_rows:
                if not self._consistent(row, producer, producer_values):
                    return
                # What an earlier row of this file set stays as it set it ("HTX A" vs "htx a").
                seen = self.producer_rows[producer.id]
                producer_values = {attr: v for attr, v in producer_values.items() if attr not in seen}
            if (producer.id, product_key) in self.product_rows:
                self._error(
                    row,
                    "product_name",
                    _(
                        "Sản phẩm '%(value)s' của chủ thể này đã có ở dòng %(row)s",
                        value=values["product_name"],
                        row=self.product_rows[(producer.id, product_key)],
                    ),
                )
                return
            product = self.products.get((producer.id, product_key))
            if product is not None and not (_differs(producer, producer_values) or _differs(product, product_values)):
                self.report.unchanged += 1  # nothing to write, so no savepoint either
                self._remember(row, producer, product, product_key, producer_values)
                return
        self._write(row, producer, producer_values, product, product_values, product_key)

    def _parse(self, row: int, cells: dict[str, Any]) -> dict[str, Any] | None:
        """Column key → parsed value for the non-empty cells; None (errors reported) if any is wrong."""
        values: dict[str, Any] = {}
        failed = False
        for key, raw in cells.items():
            column = COLUMNS_BY_KEY[key]
            text = _cell_text(raw)
            if text is None:
                if column.required:
                    self._error(row, key, column.missing)
                    failed = True
                continue
            try:
                values[key] = column.parser(text, raw, self.lookups)
            except CellError as error:
                self._error(row, key, error.message)
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
    ) -> None:
        """The row's producer and product, in one SAVEPOINT: all of the row or none of it."""
        created_producer, created_product = producer is None, product is None
        try:
            with db.session.begin_nested():
                if created_producer:
                    producer = Producer()
                    db.session.add(producer)
                producer_changed = _assign(producer, producer_values)
                db.session.flush()  # a new producer's id
                if created_product:
                    product = Product(producer_id=producer.id)
                    db.session.add(product)
                product_changed = _assign(product, product_values)
                db.session.flush()
        except SQLAlchemyError as error:  # rolled back to the savepoint: nothing of the row remains
            orig = getattr(error, "orig", None)
            current_app.logger.warning("import row %s refused by the database: %s", row, orig or error)
            reason = getattr(getattr(orig, "diag", None), "message_primary", None) or type(error).__name__
            self._error(row, None, _("Không lưu được dòng này (%(reason)s)", reason=reason))
            return
        if created_producer:
            self.report.created_producers += 1
            self.created_producers.add(producer.id)
        elif producer_changed and producer.id not in self.created_producers:
            self.updated_producers.add(producer.id)
        if created_product:
            self.report.created_products += 1
        elif product_changed:
            self.report.updated_products += 1
        elif not producer_changed:
            self.report.unchanged += 1
        self._remember(row, producer, product, product_key, producer_values)

    def _remember(self, row: int, producer: Producer, product: Product, product_key: str, producer_values: dict):
        self._index_producer(producer)
        self.products[(producer.id, product_key)] = product
        self.product_rows[(producer.id, product_key)] = row
        seen = self.producer_rows.setdefault(producer.id, {})
        for attr, value in producer_values.items():
            seen.setdefault(attr, (value, row))

    def _consistent(self, row: int, producer: Producer, producer_values: dict) -> bool:
        """Rows of one producer in one file must agree on what they fill in."""
        seen = self.producer_rows.get(producer.id, {})
        consistent = True
        for key, attr in PRODUCER_FIELDS.items():
            if attr not in producer_values or attr not in seen:
                continue
            before, first_row = seen[attr]
            same = (
                name_key(before) == name_key(producer_values[attr])
                if attr == "name"
                else before == producer_values[attr]
            )
            if not same:
                shown = self.lookups.units_by_id[before].name if attr == "unit_id" else before
                self._error(
                    row, key, _("Khác với dòng %(row)s của cùng chủ thể ('%(value)s')", row=first_row, value=shown)
                )
                consistent = False
        return consistent

    def finish(self) -> ImportReport:
        self.report.updated_producers = len(self.updated_producers)
        self.report.errors.sort(key=lambda e: e.row_number)
        return self.report


def _differs(obj, values: dict) -> bool:
    return any(getattr(obj, attr) != value for attr, value in values.items())


def _assign(obj, values: dict) -> bool:
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed


def import_workbook(stream, progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import an .xlsx (file-like or bytes) into the current tenant; the caller commits.

    Raises WorkbookError when the file as a whole is refused (nothing is written then). `progress`,
    when given, is told (rows done, rows in all) every PROGRESS_EVERY rows and at the end.
    """
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotSet("import_workbook needs a current tenant")
    table = _read_table(stream)
    importer = _Importer(tenant_id, table.headers)
    total = len(table.rows)
    for done, (row_number, cells) in enumerate(table.rows, start=1):
        importer.import_row(row_number, cells)
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    return importer.finish()


PROGRESS_EVERY = 50


# ------------------------------------------------------------------------------------ template

KIND_CHOICES = "Hợp tác xã,Doanh nghiệp,Tổ hợp tác,Hộ kinh doanh,Hộ sản xuất,Cơ sở sản xuất"
TRADEMARK_CHOICES = "Chưa có,Đang đăng ký,Đã đăng ký,Nhãn hiệu tập thể,Chỉ dẫn địa lý"


def _column_letter(key: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter([c.key for c in COLUMNS].index(key) + 1)


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
        "Cột có dấu * là bắt buộc. Thứ tự cột tùy ý; tên cột không phân biệt hoa thường, dấu; cột khác bị bỏ qua.",
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
    act = _tenant_act(tenant_id)
    guide.append([])
    guide.append([f"Bộ sản phẩm ({act})", "Mã", "", "Tên"])
    for cell in guide[guide.max_row]:
        cell.font = bold
    for node in _load_product_sets(act):
        guide.append(["", node.code, "", node.name])
    if tenant_id is not None:
        units = list(db.session.scalars(select(AdminUnit).order_by(AdminUnit.code)))
        by_id = {u.id: u for u in units}
        today = date.today()
        guide.append([])
        guide.append(["Xã/phường của tỉnh", "Mã", "", "Tên (thuộc)"])
        for cell in guide[guide.max_row]:
            cell.font = bold
        for unit in units:
            if unit.kind in COMMUNE_KINDS:
                parent = by_id.get(unit.parent_id)
                label = f"{unit.name} ({parent.name})" if parent is not None else unit.name
                if not unit.is_valid_on(today):
                    label += f" — hết hiệu lực {unit.valid_to:%d/%m/%Y}" if unit.valid_to else ""
                guide.append(["", unit.code, "", label])
    for letter, width in (("A", 34), ("B", 30), ("C", 10), ("D", 90)):
        guide.column_dimensions[letter].width = width

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
