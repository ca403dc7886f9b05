"""Overdue inspections and corrective actions become notices (a daily sweep registered with
app/notices): the inspector and the province's officers are told once per item and due date — the
notice key is the item and its due date, so a re-run or a second worker sends nothing more, and a
new due date (re-planned, extended) is a new occasion."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.auth.models import User
from app.auth.roles import PROVINCE_ADMIN, PROVINCE_OFFICER
from app.extensions import db
from app.inspection.forms import KIND_LABELS
from app.inspection.models import CorrectiveAction, Inspection
from app.inspection.work import overdue_alerts
from app.notices.services import NoticeDraft, notices_create_many
from app.registry.models import Product

TEMPLATES = {"inspection": "inspection_overdue", "corrective_action": "corrective_action_overdue"}


def overdue_notices_sweep() -> int:
    """One province's pass (inside its scope): notices for what is overdue today; returns how many are new."""
    alerts = overdue_alerts()
    if not alerts:
        return 0
    officers = list(
        db.session.scalars(
            select(User.id).where(User.active, or_(User.roles.any(PROVINCE_OFFICER), User.roles.any(PROVINCE_ADMIN)))
        )
    )
    products = dict(
        db.session.execute(select(Product.id, Product.name).where(Product.id.in_({a.product_id for a in alerts}))).all()
    )
    what = {
        ("inspection", i): str(KIND_LABELS.get(kind, kind))
        for i, kind in db.session.execute(
            select(Inspection.id, Inspection.kind).where(
                Inspection.id.in_([a.id for a in alerts if a.kind == "inspection"])
            )
        )
    }
    what |= {
        ("corrective_action", i): text
        for i, text in db.session.execute(
            select(CorrectiveAction.id, CorrectiveAction.description).where(
                CorrectiveAction.id.in_([a.id for a in alerts if a.kind == "corrective_action"])
            )
        )
    }
    created = 0
    for kind, template in TEMPLATES.items():
        drafts = [
            NoticeDraft(
                subject_key=f"{kind}:{alert.id}",
                occasion=alert.due_on.isoformat(),
                params={
                    "product": products.get(alert.product_id, ""),
                    "due_on": alert.due_on.isoformat(),
                    "what": what.get((kind, alert.id), ""),
                },
                user_ids=[*officers, *([alert.inspector_id] if alert.inspector_id else [])],
            )
            for alert in alerts
            if alert.kind == kind
        ]
        if drafts:
            created += notices_create_many(template, drafts)
    return created
