"""The province dashboard: what the tenant has configured and its latest reported figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.auth.models import User
from app.cycle.models import Cycle
from app.cycle.services import status_counts
from app.extensions import db
from app.planning.models import Figure, Policy, Target
from app.registry.models import Producer, Product
from tenants.models import AdminUnit, Council


@dataclass
class DashboardSummary:
    active_users: int
    units_now: int
    councils: int
    policies: int
    targets_open: int
    latest_figures: list[Figure]
    next_targets: list[Target]
    producers: int
    products: int
    applications_by_status: dict[str, int]


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def dashboard_summary(today: date) -> DashboardSummary:
    latest_date = select(func.max(Figure.on)).scalar_subquery()
    return DashboardSummary(
        active_users=_count(select(User.id).where(User.active.is_(True))),
        units_now=_count(select(AdminUnit.id).where(AdminUnit.is_valid_on(today))),
        councils=_count(select(Council.id)),
        policies=_count(select(Policy.id)),
        targets_open=_count(select(Target.id).where(Target.deadline >= today)),
        latest_figures=db.session.scalars(select(Figure).where(Figure.on == latest_date).order_by(Figure.metric)).all(),
        next_targets=db.session.scalars(
            select(Target).where(Target.deadline >= today).order_by(Target.deadline, Target.code).limit(8)
        ).all(),
        producers=_count(select(Producer.id)),
        products=_count(select(Product.id)),
        applications_by_status=_applications_this_year(today.year),
    )


def _applications_this_year(year: int) -> dict[str, int]:
    cycle_id = db.session.scalar(select(Cycle.id).where(Cycle.year == year))
    return status_counts(cycle_id) if cycle_id else {}
