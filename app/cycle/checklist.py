"""The dossier checklist (app/cycle/checklists.toml): what an application needs, and what it has.

Configured per criteria act and product group. A requirement is met by an accepted document that
is still valid; documents of the product (or, for producer-wide papers, of the producer) that an
earlier application used can be reused instead of uploaded again.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from app.core.acts import DEFAULT_TAXONOMY_ACT
from app.core.text import nfc_deep

CHECKLIST_FILE = Path(__file__).with_name("checklists.toml")
EXPIRY_WARNING_DAYS = 30
# Papers about the producer rather than one product: reusable across all its products.
PRODUCER_WIDE = {
    "business_registration",
    "organisation_chart",
    "food_safety_certificate",
    "quality_management_system",
    "environmental_compliance",
}


@dataclass(frozen=True)
class Requirement:
    code: str
    name: str
    name_en: str
    required: bool
    kinds: tuple[str, ...]
    groups: tuple[str, ...]
    exclude_groups: tuple[str, ...]
    validity_months: int | None
    accepts: tuple[str, ...]
    provided_by: str = "producer"
    multiple: bool = False  # several files answer it (the photos of the samples)

    def applies_to(self, kind: str, group: str | None) -> bool:
        if kind not in self.kinds:
            return False
        if self.groups and group not in self.groups:
            return False
        return group not in self.exclude_groups

    @property
    def producer_wide(self) -> bool:
        return self.code in PRODUCER_WIDE


@dataclass
class ChecklistItem:
    requirement: Requirement
    state: str  # accepted | expiring | expired | pending | rejected | missing
    document: object | None = None
    reusable: list = field(default_factory=list)

    @property
    def satisfied(self) -> bool:
        return self.state in ("accepted", "expiring")


@functools.cache
def _requirements_by_act() -> dict[str, tuple[Requirement, ...]]:
    data = nfc_deep(tomllib.loads(CHECKLIST_FILE.read_text(encoding="utf-8")))
    result = {}
    for checklist in data["checklists"]:
        result[checklist["act"]] = tuple(
            Requirement(
                code=r["code"],
                name=r["name"],
                name_en=r["name_en"],
                required=r.get("required", True),
                kinds=tuple(r.get("kinds", ("new", "upgrade", "re_recognition"))),
                groups=tuple(r.get("groups", ())),
                exclude_groups=tuple(r.get("exclude_groups", ())),
                validity_months=r.get("validity_months"),
                accepts=tuple(r.get("accepts", ())),
                provided_by=r.get("provided_by", "producer"),
                multiple=r.get("multiple", False),
            )
            for r in checklist["requirements"]
        )
    return result


def requirements_for(act: str, kind: str, group: str | None) -> list[Requirement]:
    by_act = _requirements_by_act()
    requirements = by_act.get(act) or by_act[DEFAULT_TAXONOMY_ACT]  # 1489 amends 148 without changing it
    return [r for r in requirements if r.applies_to(kind, group)]


# Documents that answer no checklist item but have their own rules (photos on the product page).
OTHER_REQUIREMENT_TYPES = {"product_photo": ("image/jpeg", "image/png", "image/webp")}


def accepted_types(requirement_code: str) -> tuple[str, ...] | None:
    """The file types a requirement takes (e.g. photos of samples: images only); None = any allowed."""
    if requirement_code in OTHER_REQUIREMENT_TYPES:
        return OTHER_REQUIREMENT_TYPES[requirement_code]
    for requirements in _requirements_by_act().values():
        for requirement in requirements:
            if requirement.code == requirement_code and requirement.accepts:
                return requirement.accepts
    return None


def validity_months(requirement_code: str) -> int | None:
    """How long a document answering this requirement stays valid (the same under every act)."""
    for requirements in _requirements_by_act().values():
        for requirement in requirements:
            if requirement.code == requirement_code and requirement.validity_months:
                return requirement.validity_months
    return None


def document_state(document, today: date) -> str:
    if document.status == "rejected":
        return "rejected"
    if document.status != "accepted":
        return "pending"
    if document.valid_until is not None:
        if document.valid_until < today:
            return "expired"
        if document.valid_until <= today + timedelta(days=EXPIRY_WARNING_DAYS):
            return "expiring"
    return "accepted"


STATE_RANK = {"accepted": 0, "expiring": 1, "pending": 2, "expired": 3, "rejected": 4}


def best_document(documents: list, today: date):
    """The document that best answers a requirement: valid first, then newest."""
    if not documents:
        return None
    return min(documents, key=lambda d: (STATE_RANK[document_state(d, today)], -d.id))
