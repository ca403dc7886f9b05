"""The province dashboard: what the tenant has configured and its latest reported figures."""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import BigInteger, Date, Integer, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.auth.models import User
from app.certification.counts import COUNTS_TTL_SECONDS
from app.cycle.models import Application, Cycle
from app.extensions import db
from app.planning.models import Figure, Policy, Target
from app.registry.models import Producer, Product
from jobs.queues import redis_connection
from tenants.context import current_tenant_id
from tenants.models import AdminUnit, Council, data_version_of


@dataclass(frozen=True)
class ShownFigure:
    """A reported figure as the dashboard shows it."""

    on: date
    metric: str
    value: Decimal
    note: str | None
    source: str | None


@dataclass(frozen=True)
class ShownTarget:
    deadline: date
    title: str


@dataclass
class DashboardSummary:
    active_users: int
    units_now: int
    councils: int
    policies: int
    targets_open: int
    latest_figures: list[ShownFigure]
    next_targets: list[ShownTarget]
    producers: int
    products: int
    applications_by_status: dict[str, int]
    # The province's data version (tenants.models.data_version_of), read in this same statement: what the
    # certificate counts are cached under. None: count them afresh.
    data_version: str | None = None


def _count(entity, *conditions):
    return select(func.count(entity)).where(*conditions).scalar_subquery()


@cache
def _summary_statement():
    """Built once per process (its values are parameters: today, its year, the tenant); the tenant criteria and
    RLS apply to each execution as to any statement."""
    today, tenant = bindparam("today", type_=Date), bindparam("tenant", type_=BigInteger)
    this_cycle = select(Cycle.id).where(Cycle.year == bindparam("year", type_=Integer)).scalar_subquery()
    by_status = (
        select(Application.status, func.count().label("n"))
        .where(Application.cycle_id == this_cycle)
        .group_by(Application.status)
        .subquery()
    )
    latest = (
        select(Figure.on, Figure.metric, Figure.value, Figure.note, Figure.source)
        .where(Figure.on == select(func.max(Figure.on)).scalar_subquery())
        .subquery()
    )
    upcoming = (
        select(Target.deadline, Target.title, Target.code)
        .where(Target.deadline >= today)
        .order_by(Target.deadline, Target.code)
        .limit(8)
        .subquery()
    )
    figures = func.jsonb_build_array(
        latest.c.on, latest.c.metric, cast(latest.c.value, Text), latest.c.note, latest.c.source
    )
    targets = func.jsonb_build_array(upcoming.c.deadline, upcoming.c.title)
    return select(
        _count(User.id, User.active.is_(True)).label("active_users"),
        _count(AdminUnit.id, AdminUnit.is_valid_on(today)).label("units_now"),
        _count(Council.id).label("councils"),
        _count(Policy.id).label("policies"),
        _count(Target.id, Target.deadline >= today).label("targets_open"),
        select(func.jsonb_object_agg(by_status.c.status, by_status.c.n)).scalar_subquery().label("by_status"),
        select(func.jsonb_agg(aggregate_order_by(figures, latest.c.metric))).scalar_subquery().label("figures"),
        select(func.jsonb_agg(aggregate_order_by(targets, upcoming.c.deadline, upcoming.c.code)))
        .scalar_subquery()
        .label("targets"),
        data_version_of(tenant).label("data_version"),
    )


def dashboard_summary(today: date) -> DashboardSummary:
    """One statement (scalar sub-selects): the counts, the latest figures and the next targets (as JSON arrays)
    and the data version the certificate counts are cached under; then the producers and products (cached)."""
    counts = db.session.execute(
        _summary_statement(), {"today": today, "year": today.year, "tenant": current_tenant_id()}
    ).one()
    return DashboardSummary(
        active_users=counts.active_users,
        units_now=counts.units_now,
        councils=counts.councils,
        policies=counts.policies,
        targets_open=counts.targets_open,
        latest_figures=[
            ShownFigure(date.fromisoformat(on), metric, Decimal(value), note, source)
            for on, metric, value, note, source in counts.figures or []
        ],
        next_targets=[ShownTarget(date.fromisoformat(deadline), title) for deadline, title in counts.targets or []],
        applications_by_status=counts.by_status or {},
        data_version=counts.data_version,
        **registry_counts(counts.data_version),
    )


# Producers and products are counted data (their changes move the data version): their counts, the summary's
# dearest, are kept in Redis under the version like the certificate counts.
def registry_counts(version: str | None) -> dict[str, int]:
    """{"producers": n, "products": n} of the province; from the cache when its data version has not moved."""
    if version is None:
        return _registry_counts()
    key = f"{current_app.config['RQ_QUEUE_PREFIX']}:registry-counts:{current_tenant_id()}:{version}"
    try:
        cached = redis_connection().get(key)
    except RedisError:
        return _registry_counts()
    if cached is not None:
        return json.loads(cached)
    counts = _registry_counts()
    with suppress(RedisError):
        redis_connection().set(key, json.dumps(counts), ex=COUNTS_TTL_SECONDS)
    return counts


def _registry_counts() -> dict[str, int]:
    row = db.session.execute(select(_count(Producer.id).label("producers"), _count(Product.id).label("products"))).one()
    return {"producers": row.producers, "products": row.products}
