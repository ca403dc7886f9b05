"""The province's inspection policy as data: parsed, checked and given defaults (pure logic, no database).

Shape (the `[inspection]` section of tenants/provinces/<slug>.toml, also what the policy page edits):

    [inspection]
    default_months = 12            # routine inspection every N months of the certificate's validity
    expiry_review_days = 90        # the expiry review is due N days before the certificate expires
    outside_commune = true         # the inspector must not work in the product's commune
    sampling_groups = ["I", "II"]  # product groups (QĐ 148) sampled and lab-tested...
    sampling_months = 12           # ...every N months (food: yearly)
    [[inspection.rules]]           # frequency rules, first match wins; an absent key matches anything
    stars = [3]
    score_min = 50                 # inclusive
    score_max = 60                 # exclusive
    groups = ["I"]
    months = 6
    [inspection.checklists]        # checklist items per inspection kind
    routine = [{ code = "label", text = "Nhãn, bao bì đúng hồ sơ" }, …]

No official text fixes these figures (DOMAIN.md: Bắc Giang names the gap, "no regulation or system for
post-certification inspection"): the defaults below are UNVERIFIED and every province may change them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

GROUPS = ("I", "II", "III", "IV", "V", "VI")  # QĐ 148 product groups (1048 sectors are mapped onto them)
CHECKLIST_KINDS = ("routine", "sampling", "expiry_review", "follow_up", "ad_hoc")
MAX_MONTHS = 36  # a certificate lasts 36 months: a longer period would never come round
MAX_REVIEW_DAYS = 365
MAX_RULES = 50
MAX_ITEMS = 100
CODE = re.compile(r"^[a-z0-9_]{1,64}$")

DEFAULT_CHECKLISTS = {
    "routine": [
        {"code": "process", "text": "Sản xuất đúng quy trình đã công bố"},
        {"code": "label", "text": "Nhãn, bao bì và logo OCOP đúng số sao được công nhận"},
        {"code": "records", "text": "Hồ sơ chất lượng, truy xuất nguồn gốc đầy đủ"},
        {"code": "food_safety", "text": "Điều kiện an toàn thực phẩm / vệ sinh cơ sở"},
        {"code": "operating", "text": "Cơ sở vẫn hoạt động sản xuất, kinh doanh sản phẩm"},
    ],
    "sampling": [
        {"code": "sample_taken", "text": "Lấy mẫu sản phẩm đúng quy định, niêm phong"},
        {"code": "declared_quality", "text": "Chỉ tiêu chất lượng đã công bố được kiểm nghiệm"},
    ],
    "expiry_review": [
        {"code": "still_meets", "text": "Sản phẩm vẫn đáp ứng tiêu chí của hạng sao"},
        {"code": "re_recognition", "text": "Chủ thể đã được hướng dẫn hồ sơ công nhận lại"},
    ],
    "follow_up": [{"code": "actions_done", "text": "Các hành động khắc phục đã được thực hiện"}],
    "ad_hoc": [{"code": "complaint", "text": "Nội dung phản ánh đã được kiểm tra"}],
}

DEFAULT_RULES: dict = {
    "default_months": 12,
    "expiry_review_days": 90,
    "outside_commune": True,
    "sampling_groups": ["I", "II"],
    "sampling_months": 12,
    # "3 sao non" (3★ scored 50 to <60, DOMAIN.md: most of Bắc Kạn's 3★) are inspected twice a year.
    "rules": [{"stars": [3], "score_min": 50, "score_max": 60, "months": 6}],
    "checklists": DEFAULT_CHECKLISTS,
}


class PolicyError(ValueError):
    """A refused policy: the message names the field, in the user's language."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.field = field


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    text: str


@dataclass(frozen=True)
class FrequencyRule:
    months: int
    stars: tuple[int, ...] = ()
    score_min: Decimal | None = None
    score_max: Decimal | None = None
    groups: tuple[str, ...] = ()

    def matches(self, stars: int, score: Decimal | None, group: str | None) -> bool:
        if self.stars and stars not in self.stars:
            return False
        if self.score_min is not None and (score is None or score < self.score_min):
            return False
        if self.score_max is not None and (score is None or score >= self.score_max):
            return False
        return not self.groups or group in self.groups


@dataclass(frozen=True)
class InspectionRules:
    default_months: int
    expiry_review_days: int
    outside_commune: bool
    sampling_groups: tuple[str, ...]
    sampling_months: int
    rules: tuple[FrequencyRule, ...] = ()
    checklists: dict[str, tuple[ChecklistItem, ...]] = field(default_factory=dict)

    def routine_months(self, stars: int, score: Decimal | None, group: str | None) -> int:
        """The routine frequency of one certificate: the first matching rule, else the default."""
        for rule in self.rules:
            if rule.matches(stars, score, group):
                return rule.months
        return self.default_months

    def sampled(self, group: str | None) -> bool:
        return group in self.sampling_groups

    def checklist(self, kind: str) -> tuple[ChecklistItem, ...]:
        return self.checklists.get(kind, ())

    def as_data(self) -> dict:
        """Back to the file's shape (what is stored in inspection_policies.rules)."""

        def rule(r: FrequencyRule) -> dict:
            out: dict = {"months": r.months}
            if r.stars:
                out["stars"] = list(r.stars)
            if r.score_min is not None:
                out["score_min"] = _number(r.score_min)
            if r.score_max is not None:
                out["score_max"] = _number(r.score_max)
            if r.groups:
                out["groups"] = list(r.groups)
            return out

        return {
            "default_months": self.default_months,
            "expiry_review_days": self.expiry_review_days,
            "outside_commune": self.outside_commune,
            "sampling_groups": list(self.sampling_groups),
            "sampling_months": self.sampling_months,
            "rules": [rule(r) for r in self.rules],
            "checklists": {k: [{"code": i.code, "text": i.text} for i in v] for k, v in self.checklists.items()},
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _int(data: dict, key: str, low: int, high: int, where: str = "") -> int:
    value = data[key]
    field_name = "rules" if where else key
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PolicyError(_l("%(f)s phải là một số nguyên.", f=where + key), field_name)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise PolicyError(_l("%(f)s phải là một số nguyên.", f=where + key), field_name) from None
    if not low <= number <= high:
        raise PolicyError(_l("%(f)s phải từ %(lo)s đến %(hi)s.", f=where + key, lo=low, hi=high), field_name)
    return number


def _score(value, key: str, where: str) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise PolicyError(_l("%(f)s phải là một điểm số.", f=where + key), "rules") from None
    if isinstance(value, bool) or not number.is_finite() or not 0 <= number <= 100:
        raise PolicyError(_l("%(f)s phải từ %(lo)s đến %(hi)s.", f=where + key, lo=0, hi=100), "rules")
    return number


def _groups(value, key: str, where: str = "") -> tuple[str, ...]:
    if not isinstance(value, list) or any(g not in GROUPS for g in value):
        raise PolicyError(
            _l("%(f)s: nhóm sản phẩm phải trong %(g)s.", f=where + key, g=", ".join(GROUPS)), "rules" if where else key
        )
    return tuple(dict.fromkeys(value))


def _text(value, where: str, max_length: int = 500) -> str:
    if not isinstance(value, str) or not value.strip() or "\x00" in value or len(value) > max_length:
        raise PolicyError(_l("%(f)s: nội dung trống, quá dài hoặc không hợp lệ.", f=where), "checklists")
    return value.strip()


def _rule(entry, index: int) -> FrequencyRule:
    where = f"rules[{index + 1}]."
    if not isinstance(entry, dict):
        raise PolicyError(_l("%(f)s không hợp lệ.", f=where), "rules")
    unknown = set(entry) - {"stars", "score_min", "score_max", "groups", "months"}
    if unknown:
        raise PolicyError(_l("%(f)s: khóa không biết %(k)s.", f=where, k=", ".join(sorted(unknown))), "rules")
    if "months" not in entry:
        raise PolicyError(_l("%(f)s thiếu số tháng (months).", f=where), "rules")
    stars = entry.get("stars", [])
    if not isinstance(stars, list) or any(isinstance(s, bool) or s not in (3, 4, 5) for s in stars):
        raise PolicyError(_l("%(f)s: số sao phải là 3, 4 hoặc 5.", f=where + "stars"), "rules")
    score_min = _score(entry["score_min"], "score_min", where) if "score_min" in entry else None
    score_max = _score(entry["score_max"], "score_max", where) if "score_max" in entry else None
    if score_min is not None and score_max is not None and score_min >= score_max:
        raise PolicyError(_l("%(f)s: điểm từ phải nhỏ hơn điểm đến.", f=where), "rules")
    return FrequencyRule(
        months=_int(entry, "months", 1, MAX_MONTHS, where),
        stars=tuple(sorted(set(stars))),
        score_min=score_min,
        score_max=score_max,
        groups=_groups(entry.get("groups", []), "groups", where),
    )


def _checklists(value) -> dict[str, tuple[ChecklistItem, ...]]:
    if not isinstance(value, dict):
        raise PolicyError(_l("checklists không hợp lệ."), "checklists")
    unknown = set(value) - set(CHECKLIST_KINDS)
    if unknown:
        raise PolicyError(_l("checklists: loại kiểm tra không biết %(k)s.", k=", ".join(sorted(unknown))), "checklists")
    out = {}
    for kind, items in value.items():
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise PolicyError(_l("checklists.%(k)s không hợp lệ.", k=kind), "checklists")
        parsed, seen = [], set()
        for number, item in enumerate(items, 1):
            where = f"checklists.{kind}[{number}]"
            if not isinstance(item, dict) or not CODE.match(str(item.get("code", ""))):
                raise PolicyError(_l("%(f)s: mã chỉ gồm chữ thường, số và _.", f=where), "checklists")
            if item["code"] in seen:
                raise PolicyError(_l("%(f)s: mã %(c)s bị trùng.", f=where, c=item["code"]), "checklists")
            seen.add(item["code"])
            parsed.append(ChecklistItem(item["code"], _text(item.get("text"), where)))
        out[kind] = tuple(parsed)
    return out


def rules_parse(data: dict | None) -> InspectionRules:
    """The policy from its data; absent keys take the defaults. Raises PolicyError on anything invalid."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(_l("Chính sách kiểm tra không hợp lệ."))
    unknown = set(data) - set(DEFAULT_RULES)
    if unknown:
        raise PolicyError(_l("Khóa không biết: %(k)s.", k=", ".join(sorted(unknown))))
    merged = {**DEFAULT_RULES, **data}
    if not isinstance(merged["outside_commune"], bool):
        raise PolicyError(_l("outside_commune phải là true hoặc false."), "outside_commune")
    rules = merged["rules"]
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        raise PolicyError(_l("rules phải là một danh sách (tối đa %(n)s).", n=MAX_RULES), "rules")
    return InspectionRules(
        default_months=_int(merged, "default_months", 1, MAX_MONTHS),
        expiry_review_days=_int(merged, "expiry_review_days", 1, MAX_REVIEW_DAYS),
        outside_commune=merged["outside_commune"],
        sampling_groups=_groups(merged["sampling_groups"], "sampling_groups"),
        sampling_months=_int(merged, "sampling_months", 1, MAX_MONTHS),
        rules=tuple(_rule(entry, i) for i, entry in enumerate(rules)),
        checklists=_checklists(merged["checklists"]),
    )


SECTOR_1048_TO_GROUP = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "IV", "6": "VI"}


def group_of(act: str | None, code: str | None) -> str | None:
    """The QĐ 148 product group ("I".."VI") of a taxonomy node: a 148 node's first code part, or the group
    a 1048 sector maps to (textiles and souvenirs/decoration are handicraft, IV; rural tourism, VI)."""
    if not code:
        return None
    if act == "1048/QĐ-TTg":
        return SECTOR_1048_TO_GROUP.get(code)
    return code.split(".", 1)[0]
