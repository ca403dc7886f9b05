"""One page of a list: page and size from the URL (size capped), the total, links that keep the filters.

Every list of the app goes through `paginate(stmt)` and shows `{{ pager(page) }}` (app/templates/_macros.html).

Two ways to reach a page:
- **keyset** (`paginate(stmt, keyset=True)`, for a list ordered by a unique key such as (name, id),
  (decision_date desc, id desc)): the next/previous links carry a cursor, `?after=…` (the rows after the
  last row shown) or `?before=…` (the rows before the first row shown). A deep page then reads only its
  own rows through the index on the order (`WHERE (name, id) > (:name, :id) ORDER BY name, id LIMIT 50`)
  instead of reading and dropping every row before it. The cursor is the boundary row's sort values,
  signed (itsdangerous, the app's secret key) for this list and path (the province's slug is in it):
  an altered cursor, or one from another list or province, is not used — the first page is shown with
  a message. The cursor only positions; the rows still come through the tenant criteria and RLS.
- **offset** (`?page=N`): any list, and the links people already have to a keyset list.

The total and the position ("51–100 of 5.000") come from one `count(*)` over the same filters
(for a cursor, `count(*) FILTER (WHERE row before the cursor)` in the same statement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app, flash, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import and_, false, func, literal, not_, or_, select, tuple_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnClause, UnaryExpression

from app.extensions import db

PER_PAGE = 50
MAX_PER_PAGE = 200  # a larger ?per_page= is cut to this: a page never holds a whole province
MAX_PAGE_DIGITS = 6
MAX_CURSOR_CHARS = 4096  # a longer ?after=/?before= is not even checked: it is no cursor of ours
CURSOR_ARGS = ("after", "before")


def _positive(raw: str | None, default: int) -> int:
    raw = raw or ""
    return int(raw) if raw.isdigit() and 0 < len(raw) <= MAX_PAGE_DIGITS and int(raw) > 0 else default


def page_args(per_page: int = PER_PAGE) -> tuple[int, int]:
    """(page, per_page) from ?page=&per_page=; anything odd falls back to the first page of the default size."""
    return _positive(request.args.get("page"), 1), min(_positive(request.args.get("per_page"), per_page), MAX_PER_PAGE)


# ----------------------------------------------------------------------------- the order as a key


@dataclass(frozen=True)
class _SortKey:
    column: ColumnClause  # as the statement orders by it
    descending: bool
    entity: int  # which entity of the row holds the value (0 for scalars)
    attribute: str


class Keyset:
    """A statement's ORDER BY read as a unique key: the conditions and the values that page it by cursor."""

    def __init__(self, stmt):
        self.keys = self._keys(stmt)
        self.fingerprint = ",".join(
            f"{k.column.table.name}.{k.column.name}{'-' if k.descending else ''}" for k in self.keys
        )

    @staticmethod
    def _keys(stmt) -> tuple[_SortKey, ...]:
        entities = [
            d["entity"] if d["expr"] is d["entity"] and not d["aliased"] else None for d in stmt.column_descriptions
        ]
        keys = []
        for clause in stmt._order_by_clauses:
            descending = isinstance(clause, UnaryExpression) and clause.modifier is operators.desc_op
            if isinstance(clause, UnaryExpression) and clause.modifier not in (operators.desc_op, operators.asc_op):
                raise ValueError(f"keyset paging needs plain ASC/DESC columns, not {clause}")
            column = clause.element if isinstance(clause, UnaryExpression) else clause
            mapper = getattr(column, "_annotations", {}).get("parententity")
            if mapper is None or mapper.class_ not in entities or getattr(column, "nullable", True):
                raise ValueError(f"keyset paging needs NOT NULL columns of the selected entities, not {column}")
            keys.append(_SortKey(column, descending, entities.index(mapper.class_), column._annotations["proxy_key"]))
        if not keys or not keys[-1].column.primary_key or keys[-1].column.name == "tenant_id":
            raise ValueError("keyset paging needs an order that ends with the rows' id (a unique key)")
        return tuple(keys)

    def values(self, row, scalars: bool) -> list:
        return [getattr(row if scalars else row[k.entity], k.attribute) for k in self.keys]

    def _bound(self, values) -> list:
        return [literal(v, k.column.type) for k, v in zip(self.keys, values, strict=True)]

    def beyond(self, values, backwards: bool = False):
        """Rows after the cursor row in the list's order (before it when backwards); the row itself excluded."""
        bound = self._bound(values)
        directions = {k.descending != backwards for k in self.keys}
        if len(directions) == 1:  # one direction: a row comparison, which the index on the order serves
            cols, vals = tuple_(*(k.column for k in self.keys)), tuple_(*bound)
            return cols < vals if directions.pop() else cols > vals
        terms = []
        for i, key in enumerate(self.keys):
            step = key.column < bound[i] if key.descending != backwards else key.column > bound[i]
            terms.append(and_(*(k.column == b for k, b in zip(self.keys[:i], bound[:i], strict=False)), step))
        return or_(false(), *terms)

    def reversed_order(self) -> list:
        return [k.column.asc() if k.descending else k.column.desc() for k in self.keys]


# ----------------------------------------------------------------------------- cursors


def _serializer(keyset: Keyset) -> URLSafeSerializer:
    """Signed for this list at this path (the province's slug is in it) and this order: elsewhere it fails."""
    scope = [request.endpoint, request.path, keyset.fingerprint]
    return URLSafeSerializer(current_app.secret_key, salt=f"ocop.pagination:{scope!r}")


def _plain(value):
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _typed(value, key: _SortKey):
    """The value back in its Python type, checked against its column (what PostgreSQL would refuse is refused here)."""
    if isinstance(value, dict):
        ((tag, text),) = value.items()
        value = {"t": dt.datetime.fromisoformat, "d": dt.date.fromisoformat, "n": Decimal}[tag](text)
    try:
        expected = key.column.type.python_type
    except NotImplementedError:
        expected = object
    if value is None or not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise ValueError("not a value of the column")
    if expected is dt.date and isinstance(value, dt.datetime):
        raise ValueError("a moment where a day is sorted")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError("out of range")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL in text")
    return value


def cursor_encode(keyset: Keyset, values: list) -> str:
    return _serializer(keyset).dumps([_plain(v) for v in values])


def cursor_decode(keyset: Keyset, token: str) -> list | None:
    """The sort values a cursor carries, or None when it is not one of ours for this list (never an error)."""
    if not token or len(token) > MAX_CURSOR_CHARS:
        return None
    try:
        values = _serializer(keyset).loads(token)
        if not isinstance(values, list) or len(values) != len(keyset.keys):
            return None
        return [_typed(v, k) for v, k in zip(values, keyset.keys, strict=True)]
    except (BadData, ValueError, TypeError, KeyError, ArithmeticError):
        return None


# ----------------------------------------------------------------------------- a page


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int
    start: int | None = None  # rows before this page (None: an offset page, (page - 1) × per_page)
    keyset: Keyset | None = None  # the list pages by cursor …
    bounds: tuple[list, list] | None = None  # … from the sort values of its first and last rows

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page if self.start is None else self.start

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def first_index(self) -> int:
        return 0 if not self.total or not self.items else self.offset + 1

    @property
    def last_index(self) -> int:
        return self.offset + len(self.items)

    def url(self, page: int | None = None, **cursor) -> str:
        """This list at another page (or cursor), with the same filters, sort and size (all in the URL)."""
        args = {k: v for k, v in request.args.items() if k != "page" and k not in CURSOR_ARGS}
        if page is not None and page > 1:
            args["page"] = page
        return url_for(request.endpoint, **(request.view_args or {}), **args, **cursor)

    @property
    def prev_url(self) -> str:
        if self.keyset is None or self.bounds is None:
            return self.url(self.prev_num)
        if self.offset <= self.per_page:
            return self.url()  # the first page (a shorter step back would show a page shorter than the others)
        return self.url(before=cursor_encode(self.keyset, self.bounds[0]))

    @property
    def next_url(self) -> str:
        if self.keyset is None or self.bounds is None:
            return self.url(self.next_num)
        return self.url(after=cursor_encode(self.keyset, self.bounds[1]))


def _page_number(start: int, size: int, total: int) -> int:
    return min(-(-start // size) + 1, max(1, -(-total // size)))


def paginate(
    stmt,
    *,
    scalars: bool = False,
    per_page: int = PER_PAGE,
    page: int | None = None,
    keyset: bool = False,
    rows: Callable[[list], list] | None = None,
) -> Page:
    """One page of an ordered select, the page and size taken from the request; past the end: the last page.

    keyset=True: the statement's order is a unique key (it ends with the id, its columns NOT NULL, of the
    selected entities); ?after=/?before= cursors then page it, and its links carry them.
    rows: what the page shows, made from the page's rows (e.g. rows with their labels), in one go.
    """
    asked, size = page_args(per_page)
    if page is not None:
        asked = page
    spec = Keyset(stmt) if keyset else None
    cursor = _cursor_arg(spec)
    if cursor is not None:
        found = _keyset_page(stmt, spec, cursor, size, scalars)
        if found is not None:
            start, total, items = found
            return _page(items, _page_number(start, size, total), size, total, start, spec, scalars, rows)
        # Nothing beyond the cursor (those rows are gone): the last page, or the first when going back.
        asked = 1 if cursor[0] == "before" else 10**MAX_PAGE_DIGITS
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    current = min(asked, max(1, -(-total // size)))
    result = db.session.execute(stmt.limit(size).offset((current - 1) * size))
    items = result.scalars().all() if scalars else result.all()
    return _page(items, current, size, total, None, spec, scalars, rows)


def _page(items, number, size, total, start, spec, scalars, rows) -> Page:
    bounds = (spec.values(items[0], scalars), spec.values(items[-1], scalars)) if spec and items else None
    return Page(rows(items) if rows else items, number, size, total, start, spec, bounds)


def _cursor_arg(spec: Keyset | None) -> tuple[str, list] | None:
    """("after" | "before", sort values) from the URL; a bad one: None and a message (the first page is shown)."""
    given = [(name, request.args.get(name, "")) for name in CURSOR_ARGS if name in request.args]
    if not given:
        return None
    values = cursor_decode(spec, given[0][1]) if spec is not None and len(given) == 1 else None
    if values is None:
        flash(_("Liên kết trang này không hợp lệ (đã bị sửa hoặc thuộc danh sách khác): đây là trang đầu."), "error")
        return None
    return given[0][0], values


def _keyset_page(stmt, spec: Keyset, cursor: tuple[str, list], size: int, scalars: bool) -> tuple | None:
    """(rows before the page, total, the page's rows) for a cursor; None when no row lies beyond it."""
    direction, values = cursor
    backwards = direction == "before"
    beyond = spec.beyond(values, backwards=backwards)
    # Rows ahead of the page: up to and including the cursor row (after), strictly before it (before).
    ahead = beyond if backwards else not_(beyond)
    counted = stmt.order_by(None).add_columns(ahead.label("ahead")).subquery()
    total, ahead_n = db.session.execute(
        select(func.count(), func.count().filter(counted.c.ahead)).select_from(counted)
    ).one()
    page_stmt = stmt.where(beyond)
    if backwards:
        page_stmt = page_stmt.order_by(None).order_by(*spec.reversed_order())
    result = db.session.execute(page_stmt.limit(size))
    items = result.scalars().all() if scalars else result.all()
    if not items:
        return None
    if backwards:
        items.reverse()
    return (ahead_n - len(items) if backwards else ahead_n), total, items
