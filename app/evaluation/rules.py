"""Rule versions as data (rules/versions.toml) and the criteria templates (shipped or imported).

Pure where it can be: band, mandatory and aggregation rules take plain values and are tested alone.
A rule version is keyed by the act code of app/core/acts.py; parts and authorities come from there
unless the TOML declares them for an act the code does not know yet.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from app.core.acts import ACTS, act_in_force

RULES_DIR = Path(__file__).with_name("rules")
TWO_PLACES = Decimal("0.01")


class RulesError(ValueError):
    """An invalid criteria file; .message is shown to the official (translated by the caller)."""


@dataclass(frozen=True)
class Criterion:
    code: str
    part: str
    text: str
    max: Decimal
    mandatory_from: int | None = None  # lowest star for which it is mandatory
    mandatory_min: Decimal = Decimal(1)


@dataclass(frozen=True)
class RuleVersion:
    act: str
    signed_on: date
    parts: dict[str, int]
    recognised_by: dict[int, str]
    bands: tuple[tuple[Decimal, int], ...]  # (lowest score, stars), highest first
    ministry_from: Decimal
    criteria_name: str
    template: tuple[Criterion, ...] = field(default=())
    # Shipped templates per product group code (e.g. "I"); a group without one uses `template`.
    group_templates: dict[str, tuple[Criterion, ...]] = field(default_factory=dict)
    group_names: dict[str, str] = field(default_factory=dict)

    def template_for(self, group: str | None) -> tuple[Criterion, ...]:
        return self.group_templates.get(group or "", self.template)

    def stars_for(self, score: Decimal) -> int | None:
        return stars_for(self.bands, score)


def stars_for(bands, score: Decimal) -> int | None:
    """The star band of a score (bands highest first); None below the lowest band (not recognised)."""
    for low, stars in bands:
        if score >= low:
            return stars
    return None


def _shipped(name: str, parts) -> tuple[str, tuple[Criterion, ...]]:
    return criteria_parse(tomllib.loads((RULES_DIR / f"criteria_{name}.toml").read_text("utf-8")), parts)


def _load_versions() -> dict[str, RuleVersion]:
    data = tomllib.loads((RULES_DIR / "versions.toml").read_text("utf-8"))
    versions = {}
    for code, entry in data["versions"].items():
        act = ACTS.get(code)
        parts = entry.get("parts") or (act.parts if act else None)
        recognised = entry.get("recognised_by") or (act.recognised_by if act else None)
        signed_on = entry.get("signed_on") or (act.signed_on if act else None)
        if parts is None or recognised is None or signed_on is None:
            raise RulesError(f"rule version {code}: parts, recognised_by and signed_on are needed")
        template = _shipped(entry["criteria"], parts)
        groups = {group: _shipped(name, parts) for group, name in entry.get("group_criteria", {}).items()}
        versions[code] = RuleVersion(
            act=code,
            signed_on=signed_on,
            parts={k: int(v) for k, v in parts.items()},
            recognised_by={int(k): v for k, v in recognised.items()},
            bands=tuple((Decimal(str(low)), int(stars)) for low, stars in entry["bands"]),
            ministry_from=Decimal(str(entry["ministry_from"])),
            criteria_name=template[0],
            template=template[1],
            group_templates={group: criteria for group, (_name, criteria) in groups.items()},
            group_names={group: name for group, (name, _criteria) in groups.items()},
        )
    return versions


@cache
def versions() -> dict[str, RuleVersion]:
    return _load_versions()


def rule_version(act: str) -> RuleVersion:
    return versions()[act]


def rule_version_on(day: date) -> RuleVersion:
    """The rule version in force on `day`: the act of app/core/acts.py, or a newer one declared only in the TOML."""
    known = act_in_force(day)
    newest = max(
        (v for v in versions().values() if v.signed_on <= day and v.act not in ACTS),
        key=lambda v: v.signed_on,
        default=None,
    )
    if newest is not None and newest.signed_on > known.signed_on:
        return newest
    return versions()[known.code]


def _decimal(value, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except Exception as exc:  # noqa: BLE001 - any unparsable value is the same error to the user
        raise RulesError(what) from exc
    if not number.is_finite():
        raise RulesError(what)
    return number


def criteria_parse(data: dict, parts: dict[str, int]) -> tuple[str, tuple[Criterion, ...]]:
    """Check a criteria table ({name, criteria: [...]}) against the version's parts; the sums must match."""
    name = str(data.get("name") or "").strip()[:200]
    rows = data.get("criteria")
    if not name or not isinstance(rows, list) or not rows:
        raise RulesError("name and criteria are required")
    seen, sums, criteria = set(), dict.fromkeys(parts, Decimal(0)), []
    for row in rows:
        if not isinstance(row, dict):
            raise RulesError("each criterion is a table")
        code = str(row.get("code") or "").strip()
        if not code or len(code) > 16 or not code.replace(".", "").replace("_", "").isalnum() or code in seen:
            raise RulesError(f"criterion code {code!r} is empty, too long, not plain or repeated")
        part = str(row.get("part") or "")
        if part not in parts:
            raise RulesError(f"criterion {code}: part {part!r} is not one of {', '.join(parts)}")
        maximum = _decimal(row.get("max"), f"criterion {code}: max is not a number")
        if maximum <= 0 or maximum > 100:
            raise RulesError(f"criterion {code}: max must be above 0 and at most 100")
        mandatory_from = row.get("mandatory_from")
        if mandatory_from is not None and mandatory_from not in (3, 4, 5):
            raise RulesError(f"criterion {code}: mandatory_from must be 3, 4 or 5")
        minimum = _decimal(row.get("mandatory_min", 1), f"criterion {code}: mandatory_min is not a number")
        if minimum < 0 or minimum > maximum:
            raise RulesError(f"criterion {code}: mandatory_min must be between 0 and max")
        text = str(row.get("text") or "").strip()
        if not text or "\x00" in text:
            raise RulesError(f"criterion {code}: text is required")
        seen.add(code)
        sums[part] += maximum
        criteria.append(Criterion(code, part, text[:500], maximum, mandatory_from, minimum))
    wrong = [f"{p}: {sums[p]} ≠ {parts[p]}" for p in parts if sums[p] != parts[p]]
    if wrong:
        raise RulesError("part maxima do not sum right (" + "; ".join(wrong) + ")")
    return name, tuple(criteria)


XLSX_COLUMNS = ("part", "code", "text", "max", "mandatory_from")  # part, code, criterion, maximum, mandatory-from-star
XLSX_MAX_ROWS = 500


def _is_number(text: str) -> bool:
    try:
        Decimal(text.strip())
    except ArithmeticError:
        return False
    return True


def criteria_from_xlsx(content: bytes) -> dict:
    """The criteria table of an Excel file in the {name, criteria} shape criteria_parse checks: the first
    sheet (its title is the table's name), one criterion a row in the columns part, code, criterion,
    maximum, mandatory-from-star; a first row whose maximum is not a number is the header."""
    import io
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RulesError("the file is not a readable .xlsx workbook") from exc
    sheet = book.worksheets[0]
    rows = []
    for index, values in enumerate(sheet.iter_rows(max_col=len(XLSX_COLUMNS), values_only=True)):
        if index > XLSX_MAX_ROWS:
            raise RulesError(f"more than {XLSX_MAX_ROWS} rows")
        cells = [None if v is None or (isinstance(v, str) and not v.strip()) else v for v in values]
        if all(v is None for v in cells):
            continue
        if index == 0 and len(cells) > 3 and isinstance(cells[3], str) and not _is_number(cells[3]):
            continue  # the header (a formula's cell reads as empty and is refused by criteria_parse)
        row = dict(zip(XLSX_COLUMNS, [v.strip() if isinstance(v, str) else v for v in cells], strict=False))
        star = row.get("mandatory_from")
        if isinstance(star, float) and star.is_integer():
            row["mandatory_from"] = int(star)
        elif isinstance(star, str) and star.isdigit() and len(star) == 1:
            row["mandatory_from"] = int(star)
        rows.append({k: v for k, v in row.items() if v is not None})
    book.close()
    return {"name": sheet.title, "criteria": rows}


def criteria_to_json(criteria) -> list[dict]:
    return [
        {
            "code": c.code,
            "part": c.part,
            "text": c.text,
            "max": str(c.max),
            "mandatory_from": c.mandatory_from,
            "mandatory_min": str(c.mandatory_min),
        }
        for c in criteria
    ]


def criteria_from_json(rows: list[dict]) -> tuple[Criterion, ...]:
    return tuple(
        Criterion(
            r["code"], r["part"], r["text"], Decimal(r["max"]), r.get("mandatory_from"), Decimal(r["mandatory_min"])
        )
        for r in rows
    )


def quantize(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Result:
    mean: Decimal | None
    parts: dict[str, Decimal]
    criteria: dict[str, Decimal]
    stars: int | None
    outcome: str  # recognised | not_recognised | failed_mandatory | proposed_ministry
    unmet: tuple[str, ...]  # mandatory criteria not met at the band's star


def result_compute(version: RuleVersion, criteria, sheets: list[dict[str, Decimal]], level: str = "province") -> Result:
    """The result from the counted sheets ({code: points}): means, band, mandatory criteria, ministry proposal."""
    if not sheets:
        return Result(None, {}, {}, None, "not_recognised", ())
    n = Decimal(len(sheets))
    means = {c.code: quantize(sum((s.get(c.code, Decimal(0)) for s in sheets), Decimal(0)) / n) for c in criteria}
    totals = [sum(s.values(), Decimal(0)) for s in sheets]
    mean = quantize(sum(totals, Decimal(0)) / n)
    parts = {p: quantize(sum((means[c.code] for c in criteria if c.part == p), Decimal(0))) for p in version.parts}
    stars = version.stars_for(mean)
    if stars is None:
        return Result(mean, parts, means, None, "not_recognised", ())
    unmet = tuple(
        c.code
        for c in criteria
        if c.mandatory_from is not None and c.mandatory_from <= stars and means[c.code] < c.mandatory_min
    )
    if unmet:
        return Result(mean, parts, means, None, "failed_mandatory", unmet)
    if level == "province" and mean >= version.ministry_from:
        return Result(mean, parts, means, stars, "proposed_ministry", ())
    return Result(mean, parts, means, stars, "recognised", ())


def next_star_gap(version: RuleVersion, mean: Decimal | None) -> tuple[int, Decimal] | None:
    """(next star, points missing) for a mean, or None at the top band."""
    current = version.stars_for(mean) if mean is not None else None
    for low, stars in sorted(version.bands):
        if current is None or stars > current:
            return stars, quantize(low - (mean or Decimal(0)))
    return None


def spread_of(totals: list[Decimal]) -> Decimal:
    return (max(totals) - min(totals)) if totals else Decimal(0)


def quorum_met(present: int, members: int, chair_present: bool, ratio: Decimal) -> bool:
    """≥ ratio of the scoring members, the chair among them."""
    return members > 0 and chair_present and Decimal(present) >= ratio * Decimal(members)
