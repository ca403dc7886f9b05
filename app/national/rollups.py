"""The national office's statistics across provinces, from the materialized roll-up only.

`national.certificate_rollup` (migration 0015) holds counts by province, star, product group,
producer type, area, decision kind and validity span; it is refreshed by `national.refresh_rollups()`
every minute (app/national/jobs.py). Counting rules (stated on the page): a product is valid on a day
when one of its certificates is in force that day (not expired, revoked or superseded; each product
has at most one); it is ever certified from its first recognition, counted under its first star.
Small cells: a breakdown cell of 1 to SMALL_CELL-1 products is shown as "<SMALL_CELL", never its
number, since it could point at one producer; province totals are not suppressed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import text

from app.national.services import national_engine

DIMENSIONS = {
    "province": _l("Tỉnh"),
    "stars": _l("Hạng sao"),
    "group": _l("Nhóm sản phẩm"),
    "kind": _l("Loại hình chủ thể"),
    "area": _l("Huyện/xã (của sản phẩm)"),
}
COLUMNS = {
    "province": "t.name",
    "stars": "r.stars::text",
    "group": "nullif(r.product_group_name, '')",
    "kind": "r.producer_kind",
    "area": "nullif(r.area, '')",
}
EXPIRING_DAYS = 90


def small_cell() -> int:
    return int(current_app.config["NATIONAL_SMALL_CELL"])


@dataclass
class Cell:
    valid: int
    ever: int
    expiring: int


@dataclass
class Breakdown:
    on: date
    stars: int | None
    total: Cell
    provinces: list[tuple[str, str, Cell]]  # (slug, name, cell): totals per province
    by: dict[str, list[tuple[str, Cell]]] = field(default_factory=dict)
    refreshed_at: object = None


def _sql(dimensions: list[str], where: str) -> str:
    sets = ", ".join(f"({COLUMNS[d]})" for d in dimensions)
    columns = ", ".join(f"{COLUMNS[d]} AS {d}, grouping({COLUMNS[d]}) AS g_{d}" for d in dimensions)
    return f"""
SELECT t.slug, {columns},
  coalesce(sum(r.certificates) FILTER (WHERE r.recognised_on <= :on AND r.valid_from <= :on
    AND r.valid_until >= :on), 0) AS valid,
  coalesce(sum(r.certificates) FILTER (WHERE r.first_recognition AND r.recognised_on <= :on), 0) AS ever,
  coalesce(sum(r.certificates) FILTER (WHERE r.recognised_on <= :on AND r.valid_from <= :on
    AND r.valid_until >= :on AND r.valid_until < :soon), 0) AS expiring
FROM national.certificate_rollup r
JOIN national.provinces t ON t.tenant_id = r.tenant_id
WHERE {where}
GROUP BY GROUPING SETS ((t.slug, {COLUMNS["province"]}), {sets}, ())
"""


_CACHE_SIZE = 512
_cache_lock = threading.Lock()


def _cached(key: tuple, compute):
    """The roll-up changes only when it is refreshed: a result is kept per (refresh time, arguments) and
    computed again after the next refresh, so a cached page is never staler than the roll-up itself."""
    refreshed_at = g.get("national_refreshed_at")
    if refreshed_at is None:  # once per request: a page reads several cached results
        with national_engine().connect() as conn:
            refreshed_at = conn.execute(text("SELECT refreshed_at FROM national.rollup_state")).scalar()
        g.national_refreshed_at = refreshed_at
    cache = current_app.extensions.setdefault("ocop.national_cache", OrderedDict())
    full_key = (refreshed_at, *key)
    with _cache_lock:
        if full_key in cache:
            cache.move_to_end(full_key)
            return cache[full_key]
    value = compute()
    with _cache_lock:
        for stale in [k for k in cache if k[0] != refreshed_at]:
            del cache[stale]
        cache[full_key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return value


def national_breakdown(on: date, *, stars: int | None = None, slug: str | None = None) -> Breakdown:
    """Totals per province and by star, group, producer type (and area for one province), in one query."""
    return _cached(("breakdown", on, stars, slug), lambda: _breakdown(on, stars, slug))


def _breakdown(on: date, stars: int | None, slug: str | None) -> Breakdown:
    dimensions = ["stars", "group", "kind"] + (["area"] if slug else [])
    where = "true"
    params = {"on": on, "soon": on + timedelta(days=EXPIRING_DAYS)}
    if stars is not None:
        where += " AND r.stars = :stars"
        params["stars"] = stars
    if slug is not None:
        where += " AND t.slug = :slug"
        params["slug"] = slug
    with national_engine().connect() as conn:
        rows = conn.execute(text(_sql(dimensions, where)), params).mappings().all()
        names = dict(conn.execute(text("SELECT slug, name FROM national.provinces ORDER BY name")).all())
    result = Breakdown(on, stars, Cell(0, 0, 0), [], {d: [] for d in dimensions}, g.get("national_refreshed_at"))
    per_province = {}
    for row in rows:
        cell = Cell(int(row["valid"]), int(row["ever"]), int(row["expiring"]))
        open_dims = [d for d in dimensions if row[f"g_{d}"] == 0]
        if row["slug"] is not None:
            per_province[row["slug"]] = cell
        elif open_dims:
            result.by[open_dims[0]].append((row[open_dims[0]], cell))
        else:
            result.total = cell
    wanted = [slug] if slug else list(names)
    result.provinces = [(s, names[s], per_province.get(s, Cell(0, 0, 0))) for s in wanted if s in names]
    for d in dimensions:
        result.by[d].sort(key=lambda item: (item[0] is None, _order(d, item[0])))
    return result


def _order(dimension: str, key):
    if key is None:
        return ""
    return key.zfill(2) if dimension == "stars" else key


def suppressed(n: int) -> str | int:
    """A breakdown cell as shown: the number, or "<k" for 1..k-1 (could identify one producer)."""
    k = small_cell()
    return f"<{k}" if 0 < n < k else n


def province_slugs() -> dict[str, str]:
    return _cached(("slugs",), _slugs)


def _slugs() -> dict[str, str]:
    with national_engine().connect() as conn:
        return dict(conn.execute(text("SELECT slug, name FROM national.provinces")).all())


@dataclass
class NationalTarget:
    slug: str
    province: str
    title: str
    metric: str
    value: float
    deadline: date
    current: int | None  # None: not computable from the national roll-up


STAR_METRICS = (
    "certified_products",
    "valid_certificates",
    "certified_products_3_star",
    "certified_products_4_star",
    "certified_products_5_star",
)

TARGETS_SQL = """
SELECT t.slug, t.name, g.title, g.metric, g.value, g.deadline,
  (SELECT coalesce(sum(r.certificates), 0) FROM national.certificate_rollup r
   WHERE r.tenant_id = g.tenant_id AND r.recognised_on <= :on AND r.valid_from <= :on AND r.valid_until >= :on
     AND (g.metric IN ('certified_products', 'valid_certificates')
          OR r.stars = CASE g.metric WHEN 'certified_products_3_star' THEN 3
            WHEN 'certified_products_4_star' THEN 4 WHEN 'certified_products_5_star' THEN 5 END)) AS current
FROM national.target_list g JOIN national.provinces t ON t.tenant_id = g.tenant_id
WHERE g.metric = ANY(:metrics) AND g.deadline >= :on
ORDER BY t.name, g.deadline, g.code
"""


def national_targets(on: date) -> list[NationalTarget]:
    """Each province's open targets on products and stars against its valid products on `on` (one query)."""
    return _cached(("targets", on), lambda: _targets(on))


def _targets(on: date) -> list[NationalTarget]:
    with national_engine().connect() as conn:
        rows = conn.execute(text(TARGETS_SQL), {"on": on, "metrics": list(STAR_METRICS)}).all()
    return [NationalTarget(*row[:6], int(row[6])) for row in rows]
