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
