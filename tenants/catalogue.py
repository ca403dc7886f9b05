"""The official administrative units a province is loaded with (tenants/data/units-catalogue.json, made by
tenants/data/build_catalogue.py from the `vietnam-provinces` package), before and after the 2025 reform.

A province (by its GSO `official_code`) gets its districts and communes as they were until 30/06/2025 and
the communes/wards of the province it belongs to from 01/07/2025 (itself when it was not merged). Since the
reform a commune reuses the code of one of the communes it was made from, so the later units carry the
code `2025-<GSO code>` (POST_REFORM_PREFIX) to stay apart from the earlier ones.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.i18n import format_day
from app.extensions import db
from tenants.models import AdminUnit

CATALOGUE_PATH = Path(__file__).parent / "data" / "units-catalogue.json"
REFORM_DAY = date(2025, 7, 1)
LAST_DAY_BEFORE = date(2025, 6, 30)
POST_REFORM_PREFIX = "2025-"

# Kinds of unit (the province file's `kind`), by level. Every district-level unit is loaded as "district"
# (the rest of the app counts districts by that kind); its label comes from its official name.
DISTRICT_KINDS = ("district", "city", "town")
COMMUNE_KINDS = ("commune", "ward", "township")
UNIT_KINDS = frozenset((*DISTRICT_KINDS, *COMMUNE_KINDS))
# The prefix of an official name: (level, kind it is loaded as, the unit's label).
PREFIXES = (
    ("thành phố ", "district", "district", _l("thành phố")),
    ("thị xã ", "district", "district", _l("thị xã")),
    ("huyện ", "district", "district", _l("huyện")),
    ("quận ", "district", "district", _l("quận")),
    ("thị trấn ", "commune", "township", _l("thị trấn")),
    ("phường ", "commune", "ward", _l("phường")),
    ("xã ", "commune", "commune", _l("xã")),
    ("đặc khu ", "commune", "commune", _l("đặc khu")),
)
KIND_LABELS = {
    "district": _l("huyện"),
    "city": _l("thành phố"),
    "town": _l("thị xã"),
    "commune": _l("xã"),
    "ward": _l("phường"),
    "township": _l("thị trấn"),
}


def unit_level(kind: str) -> str:
    """'district' or 'commune'."""
    return "commune" if kind in COMMUNE_KINDS else "district"


def _prefix(name: str, level: str):
    folded = name.casefold()  # "Thành Phố Bắc Kạn"
    return next((p for p in PREFIXES if folded.startswith(p[0]) and p[1] == level), None)


def kind_of(name: str, level: str) -> str:
    prefix = _prefix(name, level)
    if prefix is None:
        raise ValueError(f"unknown kind of unit: {name!r}")
    return prefix[2]


def unit_kind_label(name: str, kind: str) -> str:
    """The unit's level in words, in the UI's language: 'thị xã' for Thị xã Việt Yên, 'phường' for a ward."""
    prefix = _prefix(name, unit_level(kind))
    return str(prefix[3] if prefix else KIND_LABELS.get(kind, kind))


@cache
def _catalogue() -> tuple[dict, str]:
    raw = CATALOGUE_PATH.read_bytes()
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def catalogue_digest() -> str:
    """Changes whenever the catalogue does, so a province file whose text is unchanged still syncs."""
    return _catalogue()[1]


def catalogue_sources() -> dict:
    return _catalogue()[0]["sources"]


def successor_code(official_code: str | None) -> str | None:
    """The GSO code of the province the province was part of from 01/07/2025."""
    return _catalogue()[0]["became"].get(_key(official_code))


def _key(official_code: str | None) -> str:
    return str(official_code or "").zfill(2)


def catalogue_units(official_code: str | None) -> list[dict]:
    """The province's units as province-file entries (code, name, kind, parent, valid_from, valid_to), the
    earlier ones first; none for a province the catalogue does not hold."""
    data = _catalogue()[0]
    key = _key(official_code)
    entries: list[dict] = []
    before = data["before"].get(key)
    if before:
        for code, name, communes in before["districts"]:
            entries.append({"code": code, "name": name, "kind": kind_of(name, "district"), "valid_to": LAST_DAY_BEFORE})
            entries.extend(
                {"code": c, "name": n, "kind": kind_of(n, "commune"), "parent": code, "valid_to": LAST_DAY_BEFORE}
                for c, n in communes
            )
    after = data["after"].get(data["became"].get(key, key))
    if after:
        entries.extend(
            {"code": POST_REFORM_PREFIX + c, "name": n, "kind": kind_of(n, "commune"), "valid_from": REFORM_DAY}
            for c, n in after["wards"]
        )
    return entries


def commune_choices(blank: str, today: date) -> list[tuple[int, str]]:
    """The options of a "Xã/phường" picker: commune-level units only, the current ones first, each earlier one
    with its district and the day it ended."""

    units = db.session.scalars(select(AdminUnit).order_by(AdminUnit.name)).all()
    names = {u.id: u.name for u in units}
    communes = [u for u in units if unit_level(u.kind) == "commune"]
    communes.sort(key=lambda u: (not u.is_valid_on(today), u.name))

    def label(unit) -> str:
        text = unit.name + (f", {names[unit.parent_id]}" if unit.parent_id in names else "")
        if unit.valid_to is not None and unit.valid_to < today:
            text += " " + _("(đến %(day)s)", day=format_day(unit.valid_to))
        return text

    return [(0, blank)] + [(u.id, label(u)) for u in communes]


def unit_status(unit, today: date) -> str:
    """'hiện hành', or when it ended or starts: dd/mm/yyyy."""
    if unit.valid_to is not None and unit.valid_to < today:
        return _("đã kết thúc ngày %(day)s", day=format_day(unit.valid_to))
    if unit.valid_from is not None and unit.valid_from > today:
        return _("hiệu lực từ %(day)s", day=format_day(unit.valid_from))
    return _("hiện hành")
