"""The official administrative units (tenants/catalogue.py): each province holds the GSO catalogue before the
2025 reform (vietnam-provinces 0.6, extracted into tenants/data/units-catalogue.json) and the communes/wards of
the province it belongs to since 01/07/2025 (the installed vietnam-provinces), shown with their status."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import vietnam_provinces
from sqlalchemy import select

from app.dashboard.services import dashboard_summary
from app.extensions import db
from tenants.catalogue import POST_REFORM_PREFIX, _catalogue, commune_choices, unit_kind_label, unit_level
from tenants.context import tenant_scope
from tenants.models import AdminUnit
from tests.conftest import login
from tests.factories import user_of_role

# (GSO code, the province it became part of on 01/07/2025)
PROVINCES = {"bac-giang": ("24", "24"), "bac-kan": ("06", "19"), "nam-dinh": ("36", "37"), "ha-tinh": ("42", "42")}
# Counted in vietnam-provinces 0.6.0 (pip download vietnam-provinces==0.6.*): districts, communes.
BEFORE = {"24": (10, 195), "06": (8, 108), "36": (9, 175), "42": (12, 210)}
AFTER = {"24": "Bắc Ninh", "19": "Thái Nguyên", "37": "Ninh Bình", "42": "Hà Tĩnh"}


def _package_after() -> dict[str, list[dict]]:
    data = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    return {str(p["code"]).zfill(2): p for p in data}


def test_the_extract_holds_the_packages_catalogue_before_the_reform():
    data = _catalogue()[0]
    assert data["became"] == {"24": "24", "06": "19", "36": "37", "42": "42"}
    for code, (districts, communes) in BEFORE.items():
        before = data["before"][code]["districts"]
        assert (len(before), sum(len(c) for _code, _name, c in before)) == (districts, communes)
    package = _package_after()
    for code, name in AFTER.items():
        assert package[code]["name"] == name
        assert data["after"][code]["wards"] == [[str(w["code"]).zfill(5), w["name"]] for w in package[code]["wards"]]


def test_each_province_holds_every_official_unit_with_its_dates(app, tenants):
    package = _package_after()
    data = _catalogue()[0]
    for slug, (before_code, after_code) in PROVINCES.items():
        with app.app_context(), tenant_scope(tenants[slug]):
            units = db.session.scalars(select(AdminUnit)).all()
            later = [u for u in units if u.code.startswith(POST_REFORM_PREFIX)]
            kinds = Counter(u.kind for u in later)
            wards = package[after_code]["wards"]
            assert kinds == Counter(
                {"phường": "ward", "xã": "commune", "đặc khu": "commune"}[w["division_type"]] for w in wards
            ), slug
            assert {(u.valid_from, u.valid_to, u.parent_id) for u in later} == {(date(2025, 7, 1), None, None)}
            official = {c for d, _n, cs in data["before"][before_code]["districts"] for c in [d, *(x[0] for x in cs)]}
            earlier = [u for u in units if u.code in official]
            levels = Counter(unit_level(u.kind) for u in earlier)
            assert (levels["district"], levels["commune"]) == BEFORE[before_code], slug
            assert {u.valid_to for u in earlier} == {date(2025, 6, 30)}
            # Units the file adds beyond the catalogue (its 2021 districts) end on the same day.
            assert {u.valid_to for u in units if u not in later} == {date(2025, 6, 30)}
            # The dashboard counts the units in force today: those since the reform.
            assert dashboard_summary(date(2026, 1, 5)).units_now == len(wards)


def test_pickers_list_communes_only_and_the_page_shows_levels_and_status(app, tenants):
    with app.test_request_context(), tenant_scope(tenants["bac-giang"]):
        options = commune_choices("—", date(2026, 1, 5))
        units = {u.id: u for u in db.session.scalars(select(AdminUnit))}
        assert all(unit_level(units[i].kind) == "commune" for i, _label in options[1:])
        assert not any(label.startswith(("Huyện", "Thị xã", "Thành phố")) for _i, label in options[1:])
        assert len(options) == 1 + sum(unit_level(u.kind) == "commune" for u in units.values())
        current = [label for i, label in options[1:] if units[i].valid_to is None]
        assert options[1 : 1 + len(current)] == [(i, label) for i, label in options[1:] if units[i].valid_to is None]
        assert "Xã Phúc Hòa, Huyện Tân Yên (đến 30/06/2025)" in {label for _i, label in options}
        assert unit_kind_label("Thị xã Việt Yên", "district") == "thị xã"
        assert unit_kind_label("Thành phố Bắc Giang", "district") == "thành phố"
        assert unit_kind_label("Thị trấn Bố Hạ", "township") == "thị trấn"
    _uid, email = user_of_role(app, tenants["bac-giang"], "province_officer")
    client = app.test_client()
    assert login(client, "/bac-giang/login", email).status_code == 302
    page = client.get("/bac-giang/units").get_data(as_text=True)
    assert "đã kết thúc ngày 30/06/2025" in page and "hiện hành" in page
    assert "<td>thị xã</td>" in page and "<td>phường</td>" in page
    assert ">commune<" not in page and ">district<" not in page
