"""Text helpers used everywhere Vietnamese text is stored or compared.

- `nfc`: input arrives composed or decomposed depending on the keyboard; store NFC (stripped).
- `fold`: for matching that ignores case, diacritics and spacing ('Xã  Phúc HOÀ' → 'xa phuc hoa').
- `name_key`: for names whose diacritics matter ('Chè' ≠ 'Chế'): NFC, case- and spacing-insensitive.
"""

from __future__ import annotations

import re
import unicodedata


def nfc(value):
    """NFC and stripped for a string; anything else unchanged."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def nfc_deep(value):
    """NFC (not stripped) through nested dicts and lists, e.g. a parsed TOML file."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {k: nfc_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc_deep(v) for v in value]
    return value


def fold(value: str) -> str:
    """Lower case, no diacritics (đ → d), single spaces: 'Xã  Phúc HOÀ' → 'xa phuc hoa'."""
    text = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def fold_words(value: str) -> str:
    """fold() and punctuation to spaces: 'Nhãn hiệu / CDĐL*' → 'nhan hieu cddl'."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(value)).replace("_", " ").split())


def name_key(value: str) -> str:
    """How producer and product names are compared: NFC, case- and spacing-insensitive."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def one_line(text: str) -> str:
    return " ".join(text.split())


def assign(obj, values: dict) -> bool:
    """Set the attributes whose value differs; True when anything changed."""
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed
