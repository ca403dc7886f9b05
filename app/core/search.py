"""Diacritic-insensitive matching: 'luc ngan' finds 'Lục Ngạn' (PostgreSQL unaccent)."""

from sqlalchemy import func, or_

from app.core.text import nfc


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_matches(query: str, *columns):
    """An OR of `f_unaccent(column) ILIKE f_unaccent('%query%')` over the columns."""
    pattern = f"%{_escape_like(nfc(query))}%"
    return or_(*(func.f_unaccent(column).ilike(func.f_unaccent(pattern), escape="\\") for column in columns))
