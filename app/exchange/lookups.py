"""The tenant's administrative units and the product sets of its act, loaded once per import.

Units are found by code, or by name with or without their prefix ("Xã", "Huyện", "Thị xã", …),
ignoring case and diacritics; historic units (districts before 1/7/2025, merged communes) count, and
between namesakes the one valid on the list's "as of" date wins.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from app.core.acts import DEFAULT_TAXONOMY_ACT, taxonomy_act
from app.core.text import fold
from app.exchange.errors import CellError
from app.extensions import db
from app.registry.models import TaxonomyNode
from tenants.models import AdminUnit, Tenant

COMMUNE_KINDS = frozenset({"commune", "ward", "township"})
# Written prefix (folded) → (level, the prefix it abbreviates). Longer prefixes are tried first.
UNIT_PREFIXES = {
    "thi tran": ("commune", "thi tran"),
    "tt": ("commune", "thi tran"),
    "phuong": ("commune", "phuong"),
    "p": ("commune", "phuong"),
    "xa": ("commune", "xa"),
    "x": ("commune", "xa"),
    "thanh pho": ("district", "thanh pho"),
    "tp": ("district", "thanh pho"),
    "thi xa": ("district", "thi xa"),
    "tx": ("district", "thi xa"),
    "huyen": ("district", "huyen"),
    "h": ("district", "huyen"),
    "quan": ("district", "quan"),
    "q": ("district", "quan"),
}
_PREFIX_ORDER = sorted(UNIT_PREFIXES, key=lambda p: -len(p.split()))


def split_unit_name(text: str) -> tuple[str | None, str | None, str]:
    """'Thị xã Kỳ Anh' → ('district', 'thi xa', 'ky anh'); 'Lục Ngạn' → (None, None, 'luc ngan')."""
    words = fold(text).replace(".", " ").split()
    for prefix in _PREFIX_ORDER:
        prefix_words = prefix.split()
        if words[: len(prefix_words)] == prefix_words and len(words) > len(prefix_words):
            level, full = UNIT_PREFIXES[prefix]
            return level, full, " ".join(words[len(prefix_words) :])
    return None, None, " ".join(words)


def _level(unit: AdminUnit) -> str:
    return "commune" if unit.kind in COMMUNE_KINDS else "district"


class Lookups:
    """The tenant's units and the product sets (and groups) of its act."""

    def __init__(self, units: list[AdminUnit], sets: list[TaxonomyNode], on: date, groups=()):
        self.on = on
        self._found: dict = {}  # what unit() and product_set() found (an id) or refused (the message), by question
        self.units_by_id = {u.id: u for u in units}
        self.units_by_code = {fold(u.code): u for u in units}
        self.units: dict[tuple[str, str], list[AdminUnit]] = {}
        for unit in units:
            self.units.setdefault((_level(unit), split_unit_name(unit.name)[2]), []).append(unit)
        self.sets_by_code = {s.code.casefold(): s.id for s in [*sets, *groups]}
        self.sets_by_name: dict[str, int] = {}
        for node in [*sets, *groups]:
            self.sets_by_name.setdefault(fold(node.name), node.id)
            self.sets_by_name.setdefault(fold(node.name_en), node.id)

    def label(self, unit: AdminUnit) -> str:
        parent = self.units_by_id.get(unit.parent_id)
        return f"{unit.name}, {parent.name}" if parent is not None else unit.name

    def unit(self, text: str, district: str | None = None, level: str | None = None) -> int:
        """The unit written in `text` (a commune, or a district), `district` deciding between namesakes. A list
        names the same communes again and again: each spelling is looked up once per date."""
        key = (text, district, level, self.on)
        found = self._found.get(key)
        if found is None:
            try:
                found = self._unit(text, district, level)
            except CellError as error:
                found = error.message
            self._found[key] = found
        if isinstance(found, int):
            return found
        raise CellError(found)

    def _unit(self, text: str, district: str | None, level: str | None) -> int:
        by_code = self.units_by_code.get(fold(text))
        if by_code is not None and (level is None or _level(by_code) == level):
            return by_code.id
        head, *qualifiers = [p for p in re.split(r"\s*[,;]\s*|\s+[-–]\s+", text) if p.strip()] or [text]
        if district:
            qualifiers.append(district)
        written_level, prefix, rest = split_unit_name(head)
        keys = [(written_level, rest)] if written_level else [(level or "commune", rest)]
        if written_level:  # 'Xa Lý' is a name, not 'Xã Lý'
            keys.append(("commune", " ".join(fold(head).replace(".", " ").split())))
        elif level is None:  # 'Lục Ngạn': a commune of that name first, else the district
            keys.append(("district", rest))
        candidates = next((self.units[k] for k in keys if k in self.units), [])
        if not candidates:
            if (level or written_level) == "district":
                raise CellError(_("Không tìm thấy huyện/thị xã/thành phố '%(value)s' trong tỉnh", value=text))
            raise CellError(_("Không tìm thấy xã/phường '%(value)s' trong tỉnh", value=text))
        if len(candidates) > 1 and prefix:  # 'Thị xã Kỳ Anh' is not 'Huyện Kỳ Anh'
            candidates = [u for u in candidates if split_unit_name(u.name)[1] == prefix] or candidates
        if len(candidates) > 1 and qualifiers:  # the district only decides between namesakes
            wanted = set()
            for qualifier in qualifiers:
                parent = self.units_by_code.get(fold(qualifier))
                wanted.add(split_unit_name(parent.name if parent else qualifier)[2])
            candidates = [
                u
                for u in candidates
                if u.parent_id in self.units_by_id and split_unit_name(self.units_by_id[u.parent_id].name)[2] in wanted
            ] or candidates
        if len(candidates) > 1:
            candidates = [u for u in candidates if u.is_valid_on(self.on)] or candidates
        if len(candidates) > 1:
            examples = "; ".join(f"'{self.label(u)}' ({u.code})" for u in candidates[:3])
            raise CellError(
                _(
                    "Có nhiều đơn vị tên '%(value)s': %(examples)s. Hãy ghi đủ tên kèm huyện, hoặc mã đơn vị",
                    value=text,
                    examples=examples,
                )
            )
        return candidates[0].id

    def product_set(self, text: str) -> int:
        found = self._found.get(text)
        if found is None:
            try:
                found = self._product_set(text)
            except CellError as error:
                found = error.message
            self._found[text] = found
        if isinstance(found, int):
            return found
        raise CellError(found)

    def _product_set(self, text: str) -> int:
        folded = fold(text)
        code = folded.rstrip(".")
        if code in self.sets_by_code:
            return self.sets_by_code[code]
        if folded in self.sets_by_name:
            return self.sets_by_name[folded]
        leading = re.match(r"([ivx]+(?:\.\d+)*)\.?(?:\s|$)", folded)  # "I.1.2 - Thịt, thủy sản…"
        if leading and leading.group(1) in self.sets_by_code:
            return self.sets_by_code[leading.group(1)]
        raise CellError(_("Không tìm thấy bộ sản phẩm '%(value)s'", value=text))


def tenant_act(tenant_id: int | None) -> str:
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    return taxonomy_act(tenant.criteria_act) if tenant is not None else DEFAULT_TAXONOMY_ACT


def load_product_sets(act: str, level: str = "set") -> list[TaxonomyNode]:
    return list(
        db.session.scalars(
            select(TaxonomyNode)
            .where(TaxonomyNode.act == act, TaxonomyNode.level == level)
            .order_by(TaxonomyNode.position)
        )
    )
