"""One page of a list: page and size from the URL (size capped), the total, links that keep the filters.

Every list of the app goes through `paginate(stmt)` and shows `{{ pager(page) }}` (app/templates/_macros.html).
Offset pages ride an index on the list's order (name, id) so a deep page reads index entries, not rows;
the count is one `count(*)` over the same filters.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from sqlalchemy import func, select

from app.extensions import db

PER_PAGE = 50
MAX_PER_PAGE = 200  # a larger ?per_page= is cut to this: a page never holds a whole province
MAX_PAGE_DIGITS = 6


def _positive(raw: str | None, default: int) -> int:
    raw = raw or ""
    return int(raw) if raw.isdigit() and 0 < len(raw) <= MAX_PAGE_DIGITS and int(raw) > 0 else default


def page_args(per_page: int = PER_PAGE) -> tuple[int, int]:
    """(page, per_page) from ?page=&per_page=; anything odd falls back to the first page of the default size."""
    return _positive(request.args.get("page"), 1), min(_positive(request.args.get("per_page"), per_page), MAX_PER_PAGE)


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def first_index(self) -> int:
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)

    def url(self, page: int) -> str:
        """This list at another page, with the same filters, sort and size (all in the URL)."""
        args = {k: v for k, v in request.args.items() if k != "page"}
        return url_for(request.endpoint, **(request.view_args or {}), **args, page=page)


def paginate(stmt, *, scalars: bool = False, per_page: int = PER_PAGE, page: int | None = None) -> Page:
    """One page of an ordered select, the page and size taken from the request; past the end: the last page."""
    asked, size = page_args(per_page)
    if page is not None:
        asked = page
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    current = min(asked, max(1, -(-total // size)))
    result = db.session.execute(stmt.limit(size).offset((current - 1) * size))
    items = result.scalars().all() if scalars else result.all()
    return Page(items, current, size, total)
