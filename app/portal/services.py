"""What a producer sees first: their products, applications, what is missing, officers' messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import select

from app.auth.policy import own_producer_id
from app.cycle.models import Application, ApplicationEvent
from app.cycle.services import application_checklist
from app.extensions import db
from app.registry.models import Producer, Product


@dataclass
class ApplicationSummary:
    application: Application
    product: Product
    missing: list[str]


def portal_producer_id(user) -> int:
    """The producer whose portal the user sees: its own; an account bound to no producer has none (404)."""
    producer_id = own_producer_id(user, "portal.view")
    if not producer_id:
        abort(404)
    return producer_id


def producer_overview(producer_id: int, today: date):
    producer = db.session.scalar(select(Producer).where(Producer.id == producer_id))
    products = db.session.scalars(
        select(Product).where(Product.producer_id == producer_id).order_by(Product.name)
    ).all()
    by_id = {p.id: p for p in products}
    applications = (
        db.session.scalars(
            select(Application).where(Application.product_id.in_(by_id)).order_by(Application.updated_at.desc())
        ).all()
        if by_id
        else []
    )
    summaries = []
    for application in applications:
        missing = []
        if application.status not in (
            "idea_submitted",
            "idea_returned",
            "preparing_plan",
            "plan_submitted",
            "plan_returned",
        ):
            missing = [
                item.requirement.name
                for item in application_checklist(application, today)
                if item.requirement.required and item.requirement.provided_by == "producer" and not item.satisfied
            ]
        summaries.append(ApplicationSummary(application, by_id[application.product_id], missing))
    # Officers' messages: the notes they left when returning or moving an application.
    messages = (
        db.session.scalars(
            select(ApplicationEvent)
            .where(
                ApplicationEvent.application_id.in_([a.id for a in applications]), ApplicationEvent.note.is_not(None)
            )
            .order_by(ApplicationEvent.at.desc())
            .limit(20)
        ).all()
        if applications
        else []
    )
    return producer, products, summaries, messages
