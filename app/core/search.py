"""Diacritic-insensitive matching: 'luc ngan' finds 'Lục Ngạn' (PostgreSQL unaccent)."""

from sqlalchemy import BigInteger, any_, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from app.core.text import nfc


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(query: str) -> str:
    """`%query%` with LIKE's own characters escaped (backslash, the default escape)."""
    return f"%{_escape_like(nfc(query))}%"


def text_matches(query: str, *columns):
    """An OR of `f_unaccent(column) ILIKE f_unaccent('%query%')` over the columns.

    Under RLS this reads every row of the tenant (ILIKE is not leakproof, so it is never an index
    condition for the web role): fine for small tables (users); large ones use `ids_found`.
    """
    pattern = like_pattern(query)
    return or_(*(func.f_unaccent(column).ilike(func.f_unaccent(pattern), escape="\\") for column in columns))


def ids_found(search_function, query: str):
    """`SELECT id FROM search.<fn>('%query%')`: ids of the current tenant that a SECURITY DEFINER search
    function finds through the trigram indexes (migration 0016 says why); use as `Model.id.in_(…)`."""
    return select(search_function(like_pattern(query)).column_valued("id"))


def id_in_found(column, search_function, query: str, session):
    """`column = ANY(:ids)` with the ids found now, once: a paged list counts and reads its page with two
    statements, and a search function run inside both would search twice. One array parameter however
    many ids (a broad search may find a whole province)."""
    ids = session.scalars(ids_found(search_function, query)).all()
    return column == any_(bindparam(None, ids, type_=ARRAY(BigInteger)))
