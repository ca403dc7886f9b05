"""Numbers as Vietnamese users type them: "." groups thousands (12.000, 1.500.000) and "," marks decimals
(2,5; 1.500,75). Plain digits and a decimal point that cannot be a thousands group ("2.5") are read too;
what could mean two numbers ("1,500": 1,5 or 1500?) is refused with a message that says how to write it."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from flask_babel import gettext as _

# Spaces users (and spreadsheets) put between groups: space, no-break and narrow no-break spaces.
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_GROUPED = r"\d{1,3}(?:\.\d{3})+"  # 12.000, 1.500.000
_PATTERNS = (
    (re.compile(rf"^({_GROUPED}|\d+)(?:,(\d+))?$"), "vi"),  # Vietnamese: 12.000 · 2,5 · 1.500,75
    (re.compile(r"^(\d+)\.(\d{1,2}|\d{4,})$"), "point"),  # 2.5, 3.14: a point that cannot group thousands
)
MAX_DIGITS = 40  # longer is no quantity of this domain; refused before any arithmetic


class NumberError(ValueError):
    """The text is not a number, or could be read as two different numbers; the message says which."""


def parse_number(text: str, *, integer: bool = False) -> int | Decimal:
    """'12.000' → 12000, '1.500.000' → 1500000, '2,5' → Decimal('2.5'); '1,500' and '12.00.0' are refused."""
    raw = _SPACES.sub("", str(text)).strip()
    sign = -1 if raw.startswith("-") else 1
    body = raw.lstrip("+-")
    if not body or len(body) > MAX_DIGITS or "\x00" in body:
        raise NumberError(_("'%(value)s' không phải là một số.", value=_shown(text)))
    if re.fullmatch(r"\d{1,3},\d{3}", body) or re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", body) and "." in body:
        # "1,500" is one and a half in Vietnamese but fifteen hundred in English; "1,500.5" is English.
        raise NumberError(
            _(
                "'%(value)s' có thể hiểu theo hai cách. Hãy viết dấu chấm ngăn hàng nghìn và dấu phẩy thập phân, "
                "vd. 1.500 (một nghìn năm trăm) hoặc 1,5 (một phẩy năm).",
                value=_shown(text),
            )
        )
    for pattern, style in _PATTERNS:
        match = pattern.fullmatch(body)
        if match:
            whole, fraction = match.group(1), match.group(2)
            if style == "vi":
                whole = whole.replace(".", "")
            break
    else:
        raise NumberError(
            _(
                "'%(value)s' không phải là một số. Viết dấu chấm ngăn hàng nghìn và dấu phẩy thập phân, "
                "vd. 12.000 hoặc 2,5.",
                value=_shown(text),
            )
        )
    if integer:
        if fraction and fraction.strip("0"):
            raise NumberError(_("'%(value)s': hãy nhập một số nguyên.", value=_shown(text)))
        return sign * int(whole)
    try:
        return sign * Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation:  # pragma: no cover - the patterns admit digits only
        raise NumberError(_("'%(value)s' không phải là một số.", value=_shown(text))) from None


def format_number(value, *, grouping: bool = True) -> str:
    """The value as it is typed back: 1500000 → '1.500.000', Decimal('2.50') → '2,5' (parse_number reads it)."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        value = value.normalize() if value == value.to_integral_value() else value
    return format_decimal(value, locale="vi", group_separator=grouping, decimal_quantization=False)


def _shown(text) -> str:
    shown = str(text).replace("\x00", "")
    return shown if len(shown) <= 30 else shown[:30] + "…"
