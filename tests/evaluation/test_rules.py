"""Rule versions as data: bands at every boundary per version, mandatory criteria, ministry proposals, gaps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from app.core.acts import ACT_148, ACT_781, ACT_1048, ACT_1489
from app.evaluation import rules

BOUNDARIES = [("49.99", None), ("50", 3), ("69.99", 3), ("70", 4), ("89.99", 4), ("90", 5), ("100", 5), ("0", None)]


@pytest.mark.parametrize("act", [ACT_1048, ACT_781, ACT_148, ACT_1489])
@pytest.mark.parametrize(("score", "stars"), BOUNDARIES)
def test_star_band_at_every_boundary_for_each_version(act, score, stars):
    assert rules.rule_version(act).stars_for(D(score)) == stars


@pytest.mark.parametrize(
    ("act", "parts"),
    [
        (ACT_1048, {"A": 35, "B": 25, "C": 40}),
        (ACT_148, {"A": 40, "B": 25, "C": 35}),
        (ACT_1489, {"A": 40, "B": 25, "C": 35}),
    ],
)
def test_shipped_template_sums_to_the_part_maxima(act, parts):
    version = rules.rule_version(act)
    assert version.parts == parts
    sums = {p: sum(c.max for c in version.template if c.part == p) for p in parts}
    assert sums == {p: D(m) for p, m in parts.items()}


def test_version_in_force_by_date_and_authority():
    assert rules.rule_version_on(date(2020, 1, 1)).act == ACT_1048
    assert rules.rule_version_on(date(2024, 1, 1)).act == ACT_148
    assert rules.rule_version_on(date(2025, 7, 6)).act == ACT_1489
    assert rules.rule_version(ACT_148).recognised_by == {3: "district", 4: "province", 5: "ministry"}
    assert rules.rule_version(ACT_1489).recognised_by[3] == "province"


def _sheet(version, total: D, **overrides) -> dict[str, D]:
    """Points that sum to `total`: each criterion the same share of its maximum (the last one takes the rounding)."""
    points = {c.code: (c.max * total / 100).quantize(D("0.01")) for c in version.template}
    last = version.template[-1].code
    points[last] += total - sum(points.values())
    for code, value in overrides.items():
        points[code] = D(value)
    return points


def test_mean_of_totals_and_mandatory_failure_gives_khong_dat():
    version = rules.rule_version(ACT_1489)
    sheets = [_sheet(version, D(80)), _sheet(version, D(76))]
    result = rules.result_compute(version, version.template, sheets)
    assert (result.mean, result.stars, result.outcome) == (D("78.00"), 4, "recognised")
    assert sum(result.parts.values()) == D("78.00")
    # C2 (food safety) is mandatory from 3★: 0 points on every sheet → "Không đạt" whatever the score.
    failing = [{**s, "C2": D(0)} for s in sheets]
    result = rules.result_compute(version, version.template, failing)
    assert (result.stars, result.outcome, result.unmet) == (None, "failed_mandatory", ("C2",))


def test_mandatory_for_a_higher_star_does_not_apply_lower():
    version = rules.rule_version(ACT_1489)
    # A6 is mandatory from 4★ only: a 60-point product without it is still 3★.
    sheet = _sheet(version, D(63), A6=0)
    result = rules.result_compute(version, version.template, [sheet])
    assert (result.mean, result.stars, result.outcome) == (D("59.85"), 3, "recognised")
    # The same gap at 4★ fails.
    result = rules.result_compute(version, version.template, [_sheet(version, D(80), A6=0)])
    assert (result.outcome, result.unmet) == ("failed_mandatory", ("A6",))


def test_ninety_proposes_to_the_ministry_at_province_level_only():
    version = rules.rule_version(ACT_1489)
    sheets = [_sheet(version, D(90))]
    assert rules.result_compute(version, version.template, sheets).outcome == "proposed_ministry"
    assert rules.result_compute(version, version.template, sheets, level="district").outcome == "recognised"


def test_next_star_gap():
    version = rules.rule_version(ACT_148)
    assert rules.next_star_gap(version, D("63.50")) == (4, D("6.50"))
    assert rules.next_star_gap(version, D("40")) == (3, D("10.00"))
    assert rules.next_star_gap(version, D("95")) is None


def test_quorum_needs_three_quarters_and_the_chair():
    assert rules.quorum_met(3, 4, True, D("0.75"))
    assert not rules.quorum_met(3, 4, False, D("0.75"))
    assert not rules.quorum_met(2, 4, True, D("0.75"))


def test_criteria_file_errors_are_clear():
    parts = {"A": 40, "B": 25, "C": 35}
    with pytest.raises(rules.RulesError, match="sum"):
        rules.criteria_parse({"name": "x", "criteria": [{"code": "A1", "part": "A", "text": "t", "max": 40}]}, parts)
    with pytest.raises(rules.RulesError, match="max"):
        rules.criteria_parse(
            {"name": "x", "criteria": [{"code": "A1", "part": "A", "text": "t", "max": "1e999"}]}, parts
        )
    with pytest.raises(rules.RulesError, match="part"):
        rules.criteria_parse({"name": "x", "criteria": [{"code": "A1", "part": "Z", "text": "t", "max": 1}]}, parts)


GROUPS_148 = ("I", "II", "III", "IV", "V", "VI")


@pytest.mark.parametrize("group", GROUPS_148)
def test_each_group_template_file_sums_to_the_part_maxima(group):
    """Each shipped group file of QĐ 148 parses on its own and its parts sum to A 40, B 25, C 35."""
    import tomllib

    data = tomllib.loads((rules.RULES_DIR / f"criteria_148_{group}.toml").read_text("utf-8"))
    assert data["template"] is True and data["verified"] is False  # marked as a template to replace
    _name, criteria = rules.criteria_parse(data, {"A": 40, "B": 25, "C": 35})
    sums = {p: sum(c.max for c in criteria if c.part == p) for p in "ABC"}
    assert sums == {"A": D(40), "B": D(25), "C": D(35)}


@pytest.mark.parametrize("act", [ACT_148, ACT_1489])
def test_group_templates_are_chosen_by_group_and_fall_back_to_the_generic_one(act):
    version = rules.rule_version(act)
    assert sorted(version.group_templates) == sorted(GROUPS_148)
    texts = {group: {c.text for c in version.template_for(group)} for group in GROUPS_148}
    assert len({frozenset(t) for t in texts.values()}) == 6  # six different trees
    assert all(version.template_for(group) != version.template for group in GROUPS_148)
    assert version.template_for(None) == version.template
    assert version.template_for("VII") == version.template
    assert rules.rule_version(ACT_1048).template_for("I") == rules.rule_version(ACT_1048).template


def _xlsx(rows, title="Bộ tiêu chí Excel") -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _generic_rows():
    return [[c.part, c.code, c.text, float(c.max), c.mandatory_from] for c in rules.rule_version(ACT_148).template]


def test_criteria_from_an_xlsx_read_like_the_toml():
    version = rules.rule_version(ACT_148)
    header = ["Phần", "Mã", "Tiêu chí", "Điểm tối đa", "Bắt buộc từ hạng sao"]
    data = rules.criteria_from_xlsx(_xlsx([header, *_generic_rows(), [None] * 5]))
    name, criteria = rules.criteria_parse(data, version.parts)
    assert name == "Bộ tiêu chí Excel"
    assert [(c.code, c.part, c.max, c.mandatory_from) for c in criteria] == [
        (c.code, c.part, c.max, c.mandatory_from) for c in version.template
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[0].__setitem__(3, 1e999), "max"),
        (lambda rows: rows[0].__setitem__(3, "=1+1"), "max is not a number"),
        (lambda rows: rows[0].__setitem__(2, "=HYPERLINK(1)"), "text is required"),
        (lambda rows: rows[0].__setitem__(4, 7), "mandatory_from must be 3, 4 or 5"),
        (lambda rows: rows.pop(), "do not sum right"),
    ],
)
def test_bad_xlsx_criteria_are_refused_with_the_reason(change, message):
    rows = _generic_rows()
    change(rows)
    content = _xlsx(rows)
    with pytest.raises(rules.RulesError, match=message):
        rules.criteria_parse(rules.criteria_from_xlsx(content), rules.rule_version(ACT_148).parts)


def test_a_broken_xlsx_is_a_clear_error():
    with pytest.raises(rules.RulesError, match="not a readable .xlsx"):
        rules.criteria_from_xlsx(b"PK\x03\x04" + b"\x00" * 100)
