"""The application state machine: pure rules, no database (tested on their own).

new:                idea_submitted ⇄ idea_returned → preparing_plan → plan_submitted ⇄ plan_returned
                    → preparing_dossier → dossier_submitted ⇄ dossier_returned → screened → ready_for_council
upgrade, re_recognition: start at preparing_dossier (the product is already certified).
The council's decision ends it: ready_for_council → recognised | not_recognised | proposed_ministry (≥ 90
points, the ministry decides; its answer recognises the product either way, 5★ or the 4★ band). A review
that changes the result moves a decided application between these final statuses, with its history.
These council transitions are `system`: only app/evaluation applies them, never a button.
Returned items carry the officer's reason and go back to the producer to resubmit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from app.auth.policy import can

# From 1/7/2025 (QĐ 1489, two-tier local government) the commune screens dossiers; before, the district.
COMMUNE_SCREENING_FROM = date(2025, 7, 1)
# Bắc Kạn's rule: a returned idea may come back after a week (or next year).
IDEA_RESUBMIT_AFTER_DAYS = 7

STATUS_LABELS = {
    "idea_submitted": _l("Đã gửi ý tưởng"),
    "idea_returned": _l("Ý tưởng bị trả lại"),
    "preparing_plan": _l("Ý tưởng được chấp nhận — chuẩn bị phương án kinh doanh"),
    "plan_submitted": _l("Đã gửi phương án kinh doanh"),
    "plan_returned": _l("Phương án kinh doanh bị trả lại"),
    "preparing_dossier": _l("Chuẩn bị hồ sơ sản phẩm"),
    "dossier_submitted": _l("Đã nộp hồ sơ"),
    "dossier_returned": _l("Hồ sơ bị trả lại"),
    "screened": _l("Đã sơ duyệt"),
    "ready_for_council": _l("Sẵn sàng đánh giá tại Hội đồng"),
    "recognised": _l("Được công nhận sản phẩm OCOP"),
    "not_recognised": _l("Không được công nhận"),
    "proposed_ministry": _l("Đề nghị Bộ công nhận 5 sao"),
}
FINAL_STATUSES = ("recognised", "not_recognised", "proposed_ministry")
KIND_LABELS = {
    "new": _l("Đánh giá mới"),
    "upgrade": _l("Nâng hạng"),
    "re_recognition": _l("Công nhận lại"),
}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    permission: str  # the action of app/auth/policy.py that grants this transition
    needs_reason: bool = False
    window: str | None = None  # which cycle window must be open for the producer's submission
    label: object = ""
    system: bool = False  # applied by the council's decision (app/evaluation), never offered as a button


TRANSITIONS = {
    t.action: t
    for t in (
        Transition(
            "resubmit_idea",
            ("idea_returned",),
            "idea_submitted",
            "application.submit",
            window="ideas",
            label=_l("Gửi lại ý tưởng"),
        ),
        Transition(
            "accept_idea",
            ("idea_submitted",),
            "preparing_plan",
            "application.screen",
            label=_l("Chấp nhận ý tưởng"),
        ),
        Transition(
            "return_idea",
            ("idea_submitted",),
            "idea_returned",
            "application.screen",
            needs_reason=True,
            label=_l("Trả lại ý tưởng"),
        ),
        Transition(
            "submit_plan",
            ("preparing_plan", "plan_returned"),
            "plan_submitted",
            "application.submit",
            window="plans",
            label=_l("Gửi phương án kinh doanh"),
        ),
        Transition(
            "accept_plan",
            ("plan_submitted",),
            "preparing_dossier",
            "application.review_plan",
            label=_l("Chấp nhận phương án"),
        ),
        Transition(
            "return_plan",
            ("plan_submitted",),
            "plan_returned",
            "application.review_plan",
            needs_reason=True,
            label=_l("Trả lại phương án"),
        ),
        Transition(
            "submit_dossier",
            ("preparing_dossier", "dossier_returned"),
            "dossier_submitted",
            "application.submit",
            window="dossiers",
            label=_l("Nộp hồ sơ"),
        ),
        Transition(
            "screen",
            ("dossier_submitted",),
            "screened",
            "application.screen",
            label=_l("Sơ duyệt đạt, chuyển tỉnh"),
        ),
        Transition(
            "return_dossier",
            ("dossier_submitted", "screened"),
            "dossier_returned",
            "application.screen",
            needs_reason=True,
            label=_l("Trả lại hồ sơ"),
        ),
        Transition(
            "forward_to_council",
            ("screened",),
            "ready_for_council",
            "application.forward",
            label=_l("Chuyển Hội đồng đánh giá"),
        ),
        Transition(
            "council_recognise",
            ("ready_for_council", "not_recognised"),
            "recognised",
            "evaluation.manage",
            label=_l("Hội đồng: công nhận"),
            system=True,
        ),
        Transition(
            "council_not_recognise",
            ("ready_for_council", "recognised"),
            "not_recognised",
            "evaluation.manage",
            label=_l("Hội đồng: không công nhận"),
            system=True,
        ),
        Transition(
            "council_propose_ministry",
            ("ready_for_council", "recognised", "not_recognised"),
            "proposed_ministry",
            "evaluation.manage",
            label=_l("Hội đồng: đề nghị Bộ công nhận 5 sao"),
            system=True,
        ),
        Transition(
            "ministry_answer",
            ("proposed_ministry",),
            "recognised",
            "evaluation.manage",
            label=_l("Kết quả của Bộ"),
            system=True,
        ),
    )
}
# The council's outcome (app/evaluation/rules.py) → the transition that records it.
OUTCOME_ACTIONS = {
    "recognised": "council_recognise",
    "not_recognised": "council_not_recognise",
    "failed_mandatory": "council_not_recognise",
    "proposed_ministry": "council_propose_ministry",
}


def initial_status(kind: str) -> str:
    return "idea_submitted" if kind == "new" else "preparing_dossier"


def screening_level(day: date) -> str:
    return "commune" if day >= COMMUNE_SCREENING_FROM else "district"


def may_perform(transition: Transition, user) -> bool:
    return can(user, transition.permission)


def allowed_actions(status: str, user) -> list[Transition]:
    return [t for t in TRANSITIONS.values() if status in t.sources and not t.system and may_perform(t, user)]
