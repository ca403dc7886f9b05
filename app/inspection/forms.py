"""The policy form: plain fields for the figures, one line per frequency rule and per checklist item.
Lines are parsed here into the policy's data; its rules are checked by app/inspection/policy.py."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, IntegerField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.forms import BaseForm
from app.inspection.policy import CHECKLIST_KINDS, GROUPS, MAX_MONTHS, MAX_REVIEW_DAYS, InspectionRules

KIND_LABELS = {
    "routine": _l("Kiểm tra định kỳ"),
    "sampling": _l("Lấy mẫu, kiểm nghiệm"),
    "expiry_review": _l("Rà soát trước khi hết hạn"),
    "follow_up": _l("Kiểm tra lại sau khắc phục"),
    "ad_hoc": _l("Kiểm tra đột xuất"),
}
# Keys of a rule line, in Vietnamese or English: "sao=3; điểm=50-60; nhóm=I,II; tháng=6".
RULE_KEYS = {"sao": "stars", "stars": "stars", "điểm": "score", "score": "score", "nhóm": "groups",
             "groups": "groups", "tháng": "months", "months": "months"}  # fmt: skip
MAX_LINE = 500


def _no_nul(form, field):
    if "\x00" in str(field.data or ""):
        raise ValidationError(_l("Không được chứa ký tự NUL."))


def parse_rule_lines(text: str) -> list[dict]:
    rules = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if len(line) > MAX_LINE:
            raise ValidationError(_l("Dòng %(n)s quá dài.", n=number))
        rule: dict = {}
        for part in filter(None, (p.strip() for p in line.split(";"))):
            key, sep, value = (s.strip() for s in part.partition("="))
            key = RULE_KEYS.get(key.lower())
            if not sep or key is None or not value:
                raise ValidationError(_l("Dòng %(n)s: viết dạng “sao=3; điểm=50-60; nhóm=I; tháng=6”.", n=number))
            try:
                if key == "stars":
                    rule["stars"] = [int(v) for v in re.split(r"[,\s]+", value) if v]
                elif key == "groups":
                    rule["groups"] = [v.upper() for v in re.split(r"[,\s]+", value) if v]
                elif key == "months":
                    rule["months"] = int(value)
                else:
                    low, _, high = value.partition("-")
                    if low.strip():
                        rule["score_min"] = low.strip()
                    if high.strip():
                        rule["score_max"] = high.strip()
            except ValueError:
                raise ValidationError(_l("Dòng %(n)s: số không hợp lệ.", n=number)) from None
        if rule:
            rules.append(rule)
    return rules


def rule_lines(rules: InspectionRules) -> str:
    lines = []
    for rule in rules.rules:
        parts = []
        if rule.stars:
            parts.append("sao=" + ",".join(map(str, rule.stars)))
        if rule.score_min is not None or rule.score_max is not None:
            low = "" if rule.score_min is None else f"{rule.score_min.normalize():f}"
            high = "" if rule.score_max is None else f"{rule.score_max.normalize():f}"
            parts.append(f"điểm={low}-{high}")
        if rule.groups:
            parts.append("nhóm=" + ",".join(rule.groups))
        parts.append(f"tháng={rule.months}")
        lines.append("; ".join(parts))
    return "\n".join(lines)


def parse_checklist_lines(text: str) -> list[dict]:
    items = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        code, sep, label = (s.strip() for s in line.partition("|"))
        if not sep:
            raise ValidationError(_l("Dòng %(n)s: viết dạng “mã | nội dung”.", n=number))
        items.append({"code": code, "text": label})
    return items


class InspectionPolicyForm(BaseForm):
    version = HiddenField()
    default_months = IntegerField(
        _l("Kiểm tra định kỳ mặc định (số tháng)"), validators=[InputRequired(), NumberRange(1, MAX_MONTHS)]
    )
    rules = TextAreaField(
        _l(
            "Tần suất theo hạng sao, khoảng điểm, nhóm sản phẩm (mỗi dòng một quy tắc; quy tắc đầu tiên khớp được áp dụng)"
        ),
        validators=[_no_nul],
        render_kw={"rows": 4, "placeholder": "sao=3; điểm=50-60; tháng=6"},
    )
    sampling_groups = SelectMultipleField(
        _l("Nhóm sản phẩm phải lấy mẫu kiểm nghiệm"),
        choices=[SelectChoice(g, g) for g in GROUPS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    sampling_months = IntegerField(
        _l("Lấy mẫu (số tháng một lần)"), validators=[InputRequired(), NumberRange(1, MAX_MONTHS)]
    )
    expiry_review_days = IntegerField(
        _l("Rà soát trước khi hết hạn (số ngày)"), validators=[InputRequired(), NumberRange(1, MAX_REVIEW_DAYS)]
    )
    outside_commune = BooleanField(_l("Người kiểm tra phải ở ngoài xã của sản phẩm"))
    checklist_routine = TextAreaField(KIND_LABELS["routine"], validators=[_no_nul], render_kw={"rows": 5})
    checklist_sampling = TextAreaField(KIND_LABELS["sampling"], validators=[_no_nul], render_kw={"rows": 3})
    checklist_expiry_review = TextAreaField(KIND_LABELS["expiry_review"], validators=[_no_nul], render_kw={"rows": 3})
    checklist_follow_up = TextAreaField(KIND_LABELS["follow_up"], validators=[_no_nul], render_kw={"rows": 2})
    checklist_ad_hoc = TextAreaField(KIND_LABELS["ad_hoc"], validators=[_no_nul], render_kw={"rows": 2})

    def validate_rules(self, field):
        self.rule_data = parse_rule_lines(field.data)

    def fill(self, rules: InspectionRules, version: int) -> None:
        self.version.data = str(version)
        self.default_months.data = rules.default_months
        self.rules.data = rule_lines(rules)
        self.sampling_groups.data = list(rules.sampling_groups)
        self.sampling_months.data = rules.sampling_months
        self.expiry_review_days.data = rules.expiry_review_days
        self.outside_commune.data = rules.outside_commune
        for kind in CHECKLIST_KINDS:
            getattr(self, f"checklist_{kind}").data = "\n".join(f"{i.code} | {i.text}" for i in rules.checklist(kind))

    def data_for_policy(self) -> dict:
        checklists = {}
        for kind in CHECKLIST_KINDS:
            field = getattr(self, f"checklist_{kind}")
            try:
                checklists[kind] = parse_checklist_lines(field.data)
            except ValidationError as error:
                from app.inspection.policy import PolicyError

                raise PolicyError(error.args[0], f"checklist_{kind}") from None
        return {
            "default_months": self.default_months.data,
            "rules": parse_rule_lines(self.rules.data),
            "sampling_groups": list(self.sampling_groups.data or []),
            "sampling_months": self.sampling_months.data,
            "expiry_review_days": self.expiry_review_days.data,
            "outside_commune": bool(self.outside_commune.data),
            "checklists": checklists,
        }

    def expected_version(self) -> int | None:
        value = (self.version.data or "").strip()
        return int(value) if value.isdigit() and len(value) < 10 else None
