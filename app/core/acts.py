"""The legal acts that define the OCOP criteria, their dates, and who recognises which star.

Every feature asks this module (never a string literal) which act is in force on a day, which
product classification an act uses and which level of government recognises a star.
Source: /shared/DOMAIN.md; QĐ 26/2026 is UNVERIFIED and so never chosen by date on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ACT_1048 = "1048/QĐ-TTg"
ACT_781 = "781/QĐ-TTg"
ACT_148 = "148/QĐ-TTg"
ACT_1489 = "1489/QĐ-TTg"
ACT_26_2026 = "26/2026/QĐ-TTg"


@dataclass(frozen=True)
class Act:
    code: str
    signed_on: date
    taxonomy: str  # the act whose product classification (taxonomy.toml) applies
    recognised_by: dict[int, str]  # stars → "district" | "province" | "ministry"
    parts: dict[str, int]  # part → maximum points
    amends: str | None = None
    verified: bool = True


_OLD_PARTS = {"A": 35, "B": 25, "C": 40}
_NEW_PARTS = {"A": 40, "B": 25, "C": 35}
ACTS: dict[str, Act] = {
    a.code: a
    for a in (
        Act(ACT_1048, date(2019, 8, 21), ACT_1048, {3: "province", 4: "province", 5: "ministry"}, _OLD_PARTS),
        Act(ACT_781, date(2020, 6, 8), ACT_1048, {3: "province", 4: "province", 5: "ministry"}, _OLD_PARTS, ACT_1048),
        Act(ACT_148, date(2023, 2, 24), ACT_148, {3: "district", 4: "province", 5: "ministry"}, _NEW_PARTS),
        Act(ACT_1489, date(2025, 7, 6), ACT_148, {3: "province", 4: "province", 5: "ministry"}, _NEW_PARTS, ACT_148),
        Act(
            ACT_26_2026,
            date(2026, 5, 22),
            ACT_148,
            {3: "province", 4: "province", 5: "ministry"},
            _NEW_PARTS,
            verified=False,
        ),
    )
}
# A new province is set up under the act in force today; lists without an act use the 148 sets.
DEFAULT_CRITERIA_ACT = ACT_1489
DEFAULT_TAXONOMY_ACT = ACT_148
# The acts a province can be configured with (newest first), as offered on the platform's form.
SELECTABLE_ACTS = (ACT_1489, ACT_148, ACT_1048)


def taxonomy_act(criteria_act: str | None) -> str:
    """The act whose product sets a province on `criteria_act` uses (1489 amends 148 without changing them)."""
    act = ACTS.get(criteria_act or "")
    return act.taxonomy if act is not None else (criteria_act or DEFAULT_TAXONOMY_ACT)


def act_in_force(day: date, include_unverified: bool = False) -> Act:
    """The verified act in force on `day` (the latest signed on or before it; 1048 before 21/8/2019)."""
    candidates = [a for a in ACTS.values() if a.signed_on <= day and (a.verified or include_unverified)]
    return max(candidates, key=lambda a: a.signed_on) if candidates else ACTS[ACT_1048]


def recognising_level(stars: int, day: date) -> str:
    """Who recognises `stars` under the act in force on `day`: 'district', 'province' or 'ministry'."""
    return act_in_force(day).recognised_by.get(stars, "province")
