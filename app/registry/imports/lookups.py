"""The tenant's administrative units and the product sets of its act, loaded once per import."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from app.core import clock
from app.core.acts import DEFAULT_TAXONOMY_ACT, taxonomy_act
from app.core.text import fold
from app.extensions import db
from app.registry.imports.columns import CellError
from app.registry.models import TaxonomyNode
from tenants.models import AdminUnit, Tenant

COMMUNE_KINDS = frozenset({"commune", "ward", "township"})
COMMUNE_PREFIXES = ("thi tran", "phuong", "xa", "tt", "p", "x")
DISTRICT_PREFIXES = ("thanh pho", "thi xa", "huyen", "quan", "tp", "tx", "h", "q")


def _split_unit_prefix(text: str) -> tuple[str | None, str]:
    """'Xã Phúc Hòa' → ('commune', 'phuc hoa'); 'Huyện Lục Ngạn' → ('district', 'luc ngan')."""
    words = fold(text).replace(".", " ").split()
    for level, prefixes in (("commune", COMMUNE_PREFIXES), ("district", DISTRICT_PREFIXES)):
        for prefix in prefixes:
            prefix_words = prefix.split()
            if words[: len(prefix_words)] == prefix_words and len(words) > len(prefix_words):
                return level, " ".join(words[len(prefix_words) :])
    return None, " ".join(words)


class Lookups:
    """The tenant's communes and the product sets of its act, loaded once per import."""

    def __init__(self, units: list[AdminUnit], sets: list[TaxonomyNode]):
        self.units_by_id = {u.id: u for u in units}
        self.units_by_code = {u.code: u for u in units}
        self.units: dict[tuple[str, str], list[AdminUnit]] = {}
        for unit in units:
            level = "commune" if unit.kind in COMMUNE_KINDS else "district"
            self.units.setdefault((level, _split_unit_prefix(unit.name)[1]), []).append(unit)
        self.sets_by_code = {s.code.casefold(): s.id for s in sets}
        self.sets_by_name: dict[str, int] = {}
        for node in sets:
            self.sets_by_name.setdefault(fold(node.name), node.id)
            self.sets_by_name.setdefault(fold(node.name_en), node.id)

    def unit(self, text: str) -> int:
        if text in self.units_by_code:
            return self.units_by_code[text].id
        head, *qualifiers = [p for p in re.split(r"\s*[,;]\s*|\s+[-–]\s+", text) if p.strip()] or [text]
        level, rest = _split_unit_prefix(head)
        keys = [(level or "commune", rest)]
        if level:  # 'Xa Lý' is a name, not 'Xã Lý'
            keys.append(("commune", " ".join(fold(head).replace(".", " ").split())))
        candidates = next((self.units[k] for k in keys if k in self.units), [])
        if not candidates:
            raise CellError(_("Không tìm thấy xã/phường '%(value)s' trong tỉnh", value=text))
        if len(candidates) > 1 and qualifiers:  # the district only decides between namesakes
            wanted = {_split_unit_prefix(q)[1] for q in qualifiers}
            candidates = [
                u
                for u in candidates
                if u.parent_id in self.units_by_id
                and _split_unit_prefix(self.units_by_id[u.parent_id].name)[1] in wanted
            ] or candidates
        if len(candidates) > 1:
            today = clock.today()
            candidates = [u for u in candidates if u.is_valid_on(today)] or candidates
        if len(candidates) > 1:
            example = candidates[0].name
            parent = self.units_by_id.get(candidates[0].parent_id)
            if parent is not None:
                example = f"{example}, {parent.name}"
            raise CellError(
                _(
                    "Có nhiều xã/phường tên '%(value)s'; hãy ghi thêm huyện, ví dụ '%(example)s'",
                    value=text,
                    example=example,
                )
            )
        return candidates[0].id

    def product_set(self, text: str) -> int:
        folded = fold(text)
        code = folded.rstrip(".")
        if code in self.sets_by_code:
            return self.sets_by_code[code]
        if folded in self.sets_by_name:
            return self.sets_by_name[folded]
        leading = re.match(r"([ivx]+(?:\.\d+)+)\.?(?:\s|$)", folded)  # "I.1.2 - Thịt, thủy sản…"
        if leading and leading.group(1) in self.sets_by_code:
            return self.sets_by_code[leading.group(1)]
        raise CellError(_("Không tìm thấy bộ sản phẩm '%(value)s'", value=text))


def tenant_act(tenant_id: int | None) -> str:
    tenant = db.session.get(Tenant, tenant_id) if tenant_id is not None else None
    return taxonomy_act(tenant.criteria_act) if tenant is not None else DEFAULT_TAXONOMY_ACT


def load_product_sets(act: str) -> list[TaxonomyNode]:
    return list(
        db.session.scalars(
            select(TaxonomyNode)
            .where(TaxonomyNode.act == act, TaxonomyNode.level == "set")
            .order_by(TaxonomyNode.position)
        )
    )
