"""Nam Định's list as of 31/12/2020: 146 certified products (118 3★, 28 4★ recognised in 2019–2020).

On 31/12/2020 all 146 are valid; today none is (36-month terms) and 146 were ever certified. The
district breakdown equals a count made here from the rows and the province file alone.
TODO(importer): feed the same rows through the Excel import job once it carries certificate columns.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import date, timedelta

import pytest

from app.certification.counts import certificate_counts
from app.core.clock import today as vietnam_today
from app.extensions import db
from tenants.sync import PROVINCES_DIR
from tests.dashboard.conftest import add_certificate, add_product, tenant_scope, unit_id

AS_OF = date(2020, 12, 31)


def _units():
    """(unit name, district name) of every Nam Định unit, from the province file."""
    data = tomllib.loads((PROVINCES_DIR / "nam-dinh.toml").read_text(encoding="utf-8"))
    names = {u["code"]: u["name"] for u in data["units"]}
    return [(u["name"], names[u["parent"]] if u.get("parent") else u["name"]) for u in data["units"]]


def nam_dinh_2020_rows() -> list[dict]:
    """146 rows: 118 3★ and 28 4★, decisions spread over 2019–2020, units cycling over the province."""
    units = _units()
    rows = []
    for i in range(146):
        stars = 4 if i % 5 == 0 and i < 140 else 3
        rows.append(
            {
                "name": f"Sản phẩm Nam Định {i:03d}",
                "unit": units[(i * 7) % len(units)][0],
                "district": units[(i * 7) % len(units)][1],
                "stars": stars,
                "score": 50 + (i % 20) if stars == 3 else 70 + (i % 20),
                "decided": date(2019, 1, 15) + timedelta(days=(i * 5) % 700),
            }
        )
    return rows


def test_rows_are_the_reported_shape():
    rows = nam_dinh_2020_rows()
    assert Counter(r["stars"] for r in rows) == {3: 118, 4: 28}
    assert {r["decided"].year for r in rows} == {2019, 2020}
    assert max(r["decided"] for r in rows) <= AS_OF


@pytest.fixture(scope="module")
def nam_dinh_2020(app, fresh_province):
    slug, tenant_id = fresh_province("nam-dinh")
    rows = nam_dinh_2020_rows()
    with app.app_context(), tenant_scope(tenant_id):
        for row in rows:
            product = add_product(row["name"], unit=unit_id(row["unit"]))
            add_certificate(product, row["stars"], row["decided"], score=row["score"])
        db.session.commit()
    return slug, tenant_id, rows


def test_146_valid_at_the_end_of_2020_none_today(app, nam_dinh_2020):
    _slug, tenant_id, rows = nam_dinh_2020
    with app.app_context(), tenant_scope(tenant_id):
        then, now = certificate_counts(AS_OF), certificate_counts(vietnam_today())
    assert (then.valid, then.ever) == (146, 146)
    assert {r.key: r.valid for r in then.by["stars"]} == {"3": 118, "4": 28}
    assert (now.valid, now.ever) == (0, 146)
    assert {r.key: (r.valid, r.ever) for r in now.by["stars"]} == {"3": (0, 118), "4": (0, 28)}
    independent = Counter(r["district"] for r in rows)
    assert len(independent) == 10
    for counts in (then, now):
        by_district = {r.label: r.ever for r in counts.by["district"]}
        assert by_district == dict(independent)
    assert {r.label: r.valid for r in then.by["district"]} == dict(independent)
    assert sum(r.ever for r in now.by["year"]) == 146
