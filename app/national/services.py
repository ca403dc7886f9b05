"""Cross-province roll-ups, read through the national role from the `national` schema only.

That role has no rights on the tenant tables; the views it reads are owned by a roll-up role whose
only extra right is a SELECT policy. The web app's own role cannot read across tenants at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class ProvinceRollup:
    slug: str
    name: str
    active_users: int
    units_now: int
    councils: int
    policies: int
    targets: int
    certified_products: int | None
    certified_on: object
    producers: int
    products: int
    applications_this_year: int


def national_engine() -> Engine:
    engine = current_app.extensions.get("national_engine")
    if engine is None:
        url = current_app.config["NATIONAL_DATABASE_URL"]
        if not url:
            raise RuntimeError("NATIONAL_DATABASE_URL is not set")
        engine = create_engine(url, pool_pre_ping=True, pool_size=2)
        current_app.extensions["national_engine"] = engine
    return engine


def province_rollups() -> list[ProvinceRollup]:
    with national_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT slug, name, active_users, units_now, councils, policies, targets,"
                " certified_products, certified_on, producers, products, applications_this_year"
                " FROM national.province_overview ORDER BY name"
            )
        ).all()
    return [ProvinceRollup(*row) for row in rows]


@dataclass(frozen=True)
class ProvinceCounts:
    """Counts from a province's certificate records on one date (never its reported figures)."""

    slug: str
    name: str
    valid: int
    ever: int
    valid_by_stars: dict[int, int]
    reported: int | None  # the province's latest reported figure, shown apart with its own date
    reported_on: object


COUNTS_SQL = """
SELECT o.slug, o.name,
  coalesce(s.valid, 0), coalesce(f.ever, 0),
  coalesce(s.valid_3, 0), coalesce(s.valid_4, 0), coalesce(s.valid_5, 0),
  o.certified_products, o.certified_on
FROM national.province_overview o
LEFT JOIN (
  SELECT tenant_id, sum(certificates) AS valid,
    sum(certificates) FILTER (WHERE stars = 3) AS valid_3,
    sum(certificates) FILTER (WHERE stars = 4) AS valid_4,
    sum(certificates) FILTER (WHERE stars = 5) AS valid_5
  FROM national.certificate_spans
  WHERE recognised_on <= :on AND valid_from <= :on AND valid_until >= :on
  GROUP BY tenant_id
) s ON s.tenant_id = o.tenant_id
LEFT JOIN (
  SELECT tenant_id, sum(products) AS ever FROM national.first_recognitions
  WHERE recognised_on <= :on GROUP BY tenant_id
) f ON f.tenant_id = o.tenant_id
ORDER BY o.name
"""


def province_counts(on) -> list[ProvinceCounts]:
    """Per province: products with a valid certificate on `on`, ever certified by then, valid by star."""
    with national_engine().connect() as conn:
        rows = conn.execute(text(COUNTS_SQL), {"on": on}).all()
    return [
        ProvinceCounts(slug, name, int(valid), int(ever), {3: int(v3), 4: int(v4), 5: int(v5)}, reported, reported_on)
        for slug, name, valid, ever, v3, v4, v5, reported, reported_on in rows
    ]
