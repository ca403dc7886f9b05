"""STAND-IN for the `insp` helper's app/inspection/services.py (phase 2), with the signatures of
_notes/INSPECTIONS.md, so the inspection work pages (work.py) run and are tested on their own branch.

At merge, take insp's version of this file: work.py uses only `inspection_rules`, `inspectors_eligible`,
`inspector_allowed`, `inspection_overdue`, `corrective_action_overdue` and `inspection_schedule_later`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, any_, or_, select

from app.auth.models import User
from app.core import clock
from app.extensions import db
from app.inspection.models import CorrectiveAction, Inspection, InspectionPolicy
from app.registry.models import Producer, Product


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    text: str


_DEFAULT_CHECKLIST = (
    ChecklistItem("label", "Nhãn sản phẩm đúng quy định"),
    ChecklistItem("process", "Quy trình sản xuất như hồ sơ đã công nhận"),
    ChecklistItem("hygiene", "Điều kiện vệ sinh cơ sở sản xuất"),
    ChecklistItem("records", "Sổ sách, hồ sơ truy xuất nguồn gốc"),
)


@dataclass
class InspectionRules:
    outside_commune: bool = False
    checklists: dict[str, list[ChecklistItem]] = field(default_factory=dict)

    def checklist(self, kind: str) -> list[ChecklistItem]:
        return self.checklists.get(kind) or list(_DEFAULT_CHECKLIST)


def inspection_rules() -> InspectionRules:
    policy = db.session.scalar(select(InspectionPolicy))
    rules = (policy.rules if policy else None) or {}
    checklists = {
        kind: [ChecklistItem(str(i["code"]), str(i["text"])) for i in items]
        for kind, items in (rules.get("checklists") or {}).items()
    }
    return InspectionRules(outside_commune=bool(rules.get("outside_commune")), checklists=checklists)


def _commune_of(inspection: Inspection) -> int | None:
    product = db.session.scalar(select(Product).where(Product.id == inspection.product_id))
    if product.unit_id:
        return product.unit_id
    return db.session.scalar(select(Producer.unit_id).where(Producer.id == product.producer_id))


def inspector_allowed(inspection: Inspection, user: User) -> bool:
    if not user.is_active or not user.has_role("inspector", "province_officer"):
        return False
    if not inspection_rules().outside_commune:
        return True
    commune = _commune_of(inspection)
    return commune is None or user.unit_id != commune


def inspectors_eligible(inspection: Inspection) -> list[User]:
    users = db.session.scalars(
        select(User)
        .where(or_(*(any_(User.roles) == role for role in ("inspector", "province_officer"))))
        .order_by(User.full_name)
    ).all()
    return [u for u in users if inspector_allowed(inspection, u)]


def inspection_overdue(today: date | None = None):
    today = today or clock.today()
    return and_(Inspection.status.in_(("planned", "assigned")), Inspection.due_on < today)


def corrective_action_overdue(today: date | None = None):
    today = today or clock.today()
    return and_(CorrectiveAction.status == "open", CorrectiveAction.due_on < today)


def inspection_schedule_later() -> None:
    """insp's enqueues the tenant's scheduling after commit; nothing to plan without its scheduler."""
