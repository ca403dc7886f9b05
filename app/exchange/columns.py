"""The columns of the import layout, declared once: header, aliases, parser, help text.

The reader matches a file's headers against them (case-, spacing- and diacritic-insensitive, any
order) and the template writes the blank workbook and its guide from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.text import fold, fold_words, name_key, nfc, one_line
from app.exchange.errors import CellError
from app.exchange.lookups import Lookups


def cell_text(raw) -> str | None:
    """A cell as NFC text, stripped; None when empty. 12.0 → '12' (Excel stores numbers as floats)."""
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime):
        raw = raw.date() if raw.time() == datetime.min.time() else raw
    text = nfc(str(raw))
    return text or None


# ------------------------------------------------------------------------------------ parsers


def _text(max_length: int | None = None, single_line: bool = True):
    def parse(text: str, raw, lookups: Lookups):
        value = one_line(text) if single_line else text
        if max_length is not None and len(value) > max_length:
            raise CellError(_("Quá dài (tối đa %(max)s ký tự)", max=max_length))
        return value

    return parse


def _non_negative_int(limit: int):
    def parse(text: str, raw, lookups: Lookups) -> int:
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


def _phone(text: str, raw, lookups: Lookups) -> str:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        text = str(int(raw))
        if len(text) == 9:  # a number cell lost the leading 0 of a Vietnamese phone number
            text = "0" + text
    value = one_line(text)
    if len(value) > 32 or not re.fullmatch(r"[0-9+().\s\-/,;]+", value) or len(re.sub(r"\D", "", value)) < 6:
        raise CellError(_("Số điện thoại không hợp lệ: '%(value)s'", value=text))
    return value


def _email(text: str, raw, lookups: Lookups) -> str:
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


def _kind(text: str, raw, lookups: Lookups) -> str:
    words = fold_words(text)
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


def _choice(aliases: dict[str, str], refusal: Callable[[str], str]):
    """A parser that maps the cell's words through `aliases`; `refusal(text)` is the message otherwise."""

    def parse(text: str, raw, lookups: Lookups) -> str:
        value = aliases.get(fold_words(text))
        if value is None:
            raise CellError(refusal(text))
        return value

    return parse


_trademark = _choice(TRADEMARK_ALIASES, lambda text: _("Nhãn hiệu / CDĐL không hợp lệ: '%(value)s'", value=text))


def _stars(text: str, raw, lookups: Lookups) -> int:
    value = re.sub(r"\s*(sao|\*|★)+$", "", fold(text)).strip()
    if value not in ("3", "4", "5"):
        raise CellError(_("Số sao không hợp lệ: '%(value)s' (chỉ nhận 3, 4 hoặc 5)", value=text))
    return int(value)


def _countries(text: str, raw, lookups: Lookups) -> list[str]:
    countries: list[str] = []
    for part in re.split(r"[,;\n]", text):
        country = one_line(part)
        if not country:
            continue
        if len(country) > 64:
            raise CellError(_("Quá dài (tối đa %(max)s ký tự)", max=64))
        if name_key(country) not in {name_key(c) for c in countries}:
            countries.append(country)
    return countries


def _product_set(text: str, raw, lookups: Lookups) -> int:
    return lookups.product_set(text)


def _unit_text(text: str, raw, lookups: Lookups) -> str:
    """Kept as written: the writer resolves a commune together with its district column."""
    value = one_line(text)
    if len(value) > 200:
        raise CellError(_("Quá dài (tối đa %(max)s ký tự)", max=200))
    return value


def _day(text: str, raw, lookups: Lookups) -> date:
    """A date cell, or dd/mm/yyyy (also d-m-yyyy, d.m.yyyy) or yyyy-mm-dd written as text."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text.strip())
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text.strip())
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    except ValueError:
        pass
    raise CellError(_("Ngày không hợp lệ: '%(value)s' (ghi dd/mm/yyyy)", value=text))


def _score(limit: int):
    def parse(text: str, raw, lookups: Lookups) -> Decimal:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = Decimal(str(raw))
        else:
            try:
                number = Decimal(text.strip().replace(",", "."))
            except InvalidOperation:
                raise CellError(_("Điểm không hợp lệ: '%(value)s'", value=text)) from None
        if not number.is_finite() or number < 0 or number > limit:
            raise CellError(_("Điểm không hợp lệ: '%(value)s' (từ 0 đến %(max)s)", value=text, max=limit))
        return number.quantize(Decimal("0.01"))

    return parse


AUTHORITY_ALIASES = {
    "ubnd tinh": "province",
    "tinh": "province",
    "uy ban nhan dan tinh": "province",
    "province": "province",
    "ubnd huyen": "district",
    "huyen": "district",
    "uy ban nhan dan huyen": "district",
    "district": "district",
    "bo": "ministry",
    "bo nn ptnt": "ministry",
    "bo nong nghiep va phat trien nong thon": "ministry",
    "bo nong nghiep va moi truong": "ministry",
    "bo nn mt": "ministry",
    "ministry": "ministry",
}


_authority = _choice(
    AUTHORITY_ALIASES,
    lambda text: _("Cơ quan công nhận không hợp lệ: '%(value)s' (UBND tỉnh, UBND huyện hoặc Bộ)", value=text),
)


# ------------------------------------------------------------------------------------ columns


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # Vietnamese, as in the template (required ones get a "*" there)
    header_en: str
    required: bool = False
    parser: Callable[[str, Any, Lookups], Any] | None = None  # None: read and ignored (STT)
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
        help="Mã bộ sản phẩm (ví dụ I.1.2) hoặc đúng tên bộ sản phẩm theo bảng phân loại (danh sách ở cuối trang này). "
        "Khi chỉ biết nhóm sản phẩm, ghi mã hoặc tên nhóm (ví dụ I hoặc Thực phẩm).",
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
    Column(
        "producer_code",
        "Mã chủ thể",
        "Producer code",
        False,
        _text(64),
        aliases=("Mã chủ thể OCOP", "Mã CT"),
        help="Mã riêng của tỉnh cho chủ thể, nếu có (tối đa 64 ký tự). Khi có, chủ thể được nhận biết theo mã này trước.",
    ),
    Column(
        "product_code",
        "Mã sản phẩm",
        "Product code",
        False,
        _text(64),
        aliases=("Mã sản phẩm OCOP", "Mã SP"),
        help="Mã riêng của tỉnh cho sản phẩm, nếu có. Khi có, sản phẩm được nhận biết theo mã này trước.",
    ),
    Column("address", "Địa chỉ", "Address", False, _text(), help="Địa chỉ của chủ thể (thôn, xóm, số nhà…)."),
    Column(
        "unit",
        "Xã/phường",
        "Commune/ward",
        False,
        _unit_text,
        aliases=("Xã, phường", "Xã/phường/thị trấn", "Xã, phường, thị trấn", "Xã", "Commune"),
        help='Tên xã/phường/thị trấn của tỉnh, có hoặc không có chữ "Xã", "Phường", "Thị trấn", '
        'không phân biệt dấu ("Xã Phúc Hòa" = "phuc hoa"). Nếu tỉnh có hai xã trùng tên, ghi thêm '
        'huyện sau dấu phẩy: "Xã Tân Sơn, Huyện Lục Ngạn". Có thể ghi một huyện/thị xã/thành phố nếu ghi rõ '
        'chữ "Huyện", "Thị xã", "Thành phố", hoặc mã đơn vị. Tên không có trong danh mục của tỉnh là lỗi.',
    ),
    Column(
        "district",
        "Huyện/thị xã/thành phố",
        "District",
        False,
        _unit_text,
        aliases=("Huyện", "Quận/huyện", "Huyện, thị xã, thành phố", "Huyện/thị xã", "Huyện/TX/TP"),
        help='Huyện của chủ thể (trước 1/7/2025), có hoặc không có chữ "Huyện"; dùng để phân biệt xã trùng tên, '
        "hoặc là địa bàn khi không ghi xã.",
    ),
    Column(
        "product_unit",
        "Xã/phường nơi sản xuất",
        "Product commune/ward",
        False,
        _unit_text,
        aliases=("Xã sản xuất", "Địa bàn sản xuất", "Xã/phường của sản phẩm", "Nơi sản xuất"),
        help="Xã/phường nơi làm ra sản phẩm, nếu khác nơi đăng ký của chủ thể; để trống: như của chủ thể.",
    ),
    Column(
        "product_district",
        "Huyện nơi sản xuất",
        "Product district",
        False,
        _unit_text,
        aliases=("Huyện sản xuất", "Huyện của sản phẩm"),
        help="Huyện nơi làm ra sản phẩm (trước 1/7/2025), nếu khác huyện của chủ thể.",
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
        _text(single_line=False),
        aliases=("Vùng nguyên liệu",),
        help='Ghi tự do, ví dụ "15 ha".',
    ),
    Column(
        "capacity",
        "Công suất",
        "Capacity",
        False,
        _text(single_line=False),
        aliases=("Quy mô", "Công suất (sản lượng)"),
        help='Ghi tự do, ví dụ "20 tấn/năm".',
    ),
    Column(
        "markets",
        "Thị trường",
        "Markets",
        False,
        _text(single_line=False),
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
        aliases=("Số sao", "Hạng sao", "Xếp hạng sao", "Hạng sao hiện có", "Hạng sao OCOP", "Stars"),
        help="3, 4 hoặc 5 nếu sản phẩm đã được công nhận; để trống nếu chưa.",
    ),
    Column(
        "decision_no",
        "Số quyết định công nhận",
        "Decision number",
        False,
        _text(64),
        aliases=("Số quyết định", "Số QĐ", "Quyết định công nhận", "Số QĐ công nhận"),
        help="Số quyết định công nhận hạng sao, ví dụ 1234/QĐ-UBND.",
    ),
    Column(
        "decision_date",
        "Ngày quyết định",
        "Decision date",
        False,
        _day,
        aliases=("Ngày công nhận", "Ngày QĐ", "Ngày ký quyết định", "Ngày quyết định công nhận"),
        help="Ngày ký quyết định công nhận, dd/mm/yyyy. Chứng nhận có hiệu lực 36 tháng từ ngày này nếu không ghi khác.",
    ),
    Column(
        "score",
        "Điểm",
        "Score",
        False,
        _score(100),
        aliases=("Tổng điểm", "Điểm đánh giá", "Điểm đánh giá, phân hạng"),
        help="Tổng điểm đánh giá (0–100), ví dụ 72,5.",
    ),
    Column("score_a", "Điểm phần A", "Part A score", False, _score(100), aliases=("Phần A",), help="Nếu có."),
    Column("score_b", "Điểm phần B", "Part B score", False, _score(100), aliases=("Phần B",), help="Nếu có."),
    Column("score_c", "Điểm phần C", "Part C score", False, _score(100), aliases=("Phần C",), help="Nếu có."),
    Column(
        "valid_from",
        "Hiệu lực từ ngày",
        "Valid from",
        False,
        _day,
        aliases=("Hiệu lực từ", "Có hiệu lực từ"),
        help="Chỉ ghi nếu quyết định ghi ngày hiệu lực khác ngày ký.",
    ),
    Column(
        "valid_to",
        "Hiệu lực đến ngày",
        "Valid to",
        False,
        _day,
        aliases=("Hiệu lực đến", "Ngày hết hạn", "Hết hiệu lực", "Thời hạn"),
        help="Chỉ ghi nếu quyết định ghi thời hạn khác 36 tháng.",
    ),
    Column(
        "authority",
        "Cơ quan công nhận",
        "Recognising authority",
        False,
        _authority,
        aliases=("Cấp công nhận", "Cấp quyết định", "Authority"),
        help="UBND tỉnh, UBND huyện (theo QĐ 148, 3 sao) hoặc Bộ (5 sao). Để trống: theo bộ tiêu chí có hiệu lực ngày quyết định.",
    ),
    Column(
        "as_of",
        "Tính đến ngày",
        "As of",
        False,
        _day,
        aliases=("Số liệu đến ngày", "Ngày số liệu"),
        help="Ngày mà danh sách mô tả (hạng sao, địa bàn); để trống: ngày ghi trên trang nhập, hoặc hôm nay.",
    ),
)
COLUMNS_BY_KEY = {c.key: c for c in COLUMNS}
PRODUCER_FIELDS = {  # column key → Producer attribute
    "producer_name": "name",
    "kind": "kind",
    "registration_no": "registration_no",
    "producer_code": "code",
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
    "product_code": "code",
    "product_set": "product_set_id",
    "product_unit": "unit_id",
    "raw_material_area": "raw_material_area",
    "capacity": "capacity",
    "markets": "markets",
    "export_countries": "export_countries",
    "traceability": "traceability",
    "trademark": "trademark_status",
}


def _header_keys(text: str) -> set[str]:
    """The forms a header is matched by: its words, and its words without a '(…)' part."""
    keys = {fold_words(text)}
    without_brackets = re.sub(r"\([^)]*\)", " ", text)
    keys.add(fold_words(without_brackets))
    return {k for k in keys if k}


def _build_header_index() -> dict[str, Column]:
    index: dict[str, Column] = {}
    for column in COLUMNS:
        for header in (column.header, column.header_en, *column.aliases):
            key = fold_words(header)
            if index.get(key, column) is not column:
                raise RuntimeError(f"header {header!r} is ambiguous")
            index[key] = column
    return index


HEADER_INDEX = _build_header_index()


def match_header(text) -> Column | None:
    label = cell_text(text)
    if label is None:
        return None
    for key in _header_keys(label):
        if key in HEADER_INDEX:
            return HEADER_INDEX[key]
    return None


CERTIFICATE_KEYS = ("decision_no", "decision_date", "score", "score_a", "score_b", "score_c", "valid_from", "valid_to")
CERTIFICATE_KEYS += ("authority",)
UNIT_KEYS = ("unit", "district", "product_unit", "product_district")  # resolved together by the writer

# Columns an export adds after the template's for the reader of the list (a certificate's status on the
# chosen day, days left, revocation): a re-import knows them, reads nothing from them and says so.
REPORT_ONLY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Tình trạng", "Status"),
    ("Số ngày còn lại", "Days left"),
    ("Lý do thu hồi", "Revocation reason"),
    ("Quyết định thu hồi", "Revocation decision"),
)
_REPORT_ONLY_KEYS = {fold_words(h) for pair in REPORT_ONLY_HEADERS for h in pair}
if _REPORT_ONLY_KEYS & HEADER_INDEX.keys():
    raise RuntimeError("a report-only header is also an import column")


def is_report_only(text) -> bool:
    """A header of a report-only column ("Tình trạng (ngày 01/01/2021)" too: the bracket is dropped)."""
    label = cell_text(text)
    return label is not None and bool(_header_keys(label) & _REPORT_ONLY_KEYS)
