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
    # The province's "counts" data version (tenants.models.data_version_of), read before anything else here:
    # what the certificate counts are cached under. None: count them afresh.
    data_version: str | None = None


def _count(entity, *conditions):
    return select(func.count(entity)).where(*conditions).scalar_subquery()


# The summary is kept in Redis per province, both its data versions and the day (what is open, due or of this
# year depends on it): PostgreSQL moves a version at the commit of any change of the tables it covers (migration
# 0021), so a cached summary is never served after a change; the TTL bounds memory.
SUMMARY_TTL_SECONDS = COUNTS_TTL_SECONDS


def dashboard_summary(today: date) -> DashboardSummary:
    """The dashboard's figures: the province's data versions first (one small statement), then the summary from
    the cache, or from one statement (scalar sub-selects; figures and targets as JSON arrays) cached under them."""
    tenant_id = current_tenant_id()
    versions = db.session.execute(_versions_statement(), {"tenant": tenant_id}).one()
    if versions.counts is None or versions.summary is None:
        return _summary(today, versions.counts)
    key = f"{current_app.config['RQ_QUEUE_PREFIX']}:summary:{tenant_id}:{versions.counts}:{versions.summary}:{today}"
    try:
        cached = redis_connection().get(key)
    except RedisError:
        return _summary(today, versions.counts)
    if cached is not None:
        return _from_json(json.loads(cached), versions.counts)
    summary = _summary(today, versions.counts)
    with suppress(RedisError):
        redis_connection().set(key, json.dumps(_to_json(summary), separators=(",", ":")), ex=SUMMARY_TTL_SECONDS)
    return summary


def counts_version() -> str | None:
    """The province's "counts" data version alone (what certificate_counts_cached keeps its counts under)."""
    return db.session.scalar(select(data_version_of(current_tenant_id(), "counts")))


@cache
def _versions_statement():
    tenant = bindparam("tenant", type_=BigInteger)
    return select(
        data_version_of(tenant, "counts").label("counts"), data_version_of(tenant, "summary").label("summary")
    )


def _summary(today: date, version: str | None) -> DashboardSummary:
    row = db.session.execute(
        _summary_statement(), {"today": today, "year": today.year, "tenant": current_tenant_id()}
    ).one()
    return DashboardSummary(
        active_users=row.active_users,
        units_now=row.units_now,
        councils=row.councils,
        policies=row.policies,
        targets_open=row.targets_open,
        latest_figures=[
            ShownFigure(date.fromisoformat(on), metric, Decimal(value), note, source)
            for on, metric, value, note, source in row.figures or []
        ],
        next_targets=[ShownTarget(date.fromisoformat(deadline), title) for deadline, title in row.targets or []],
        producers=row.producers,
        products=row.products,
        applications_by_status=row.by_status or {},
        data_version=version,
    )


def _to_json(summary: DashboardSummary) -> dict:
    data = {k: v for k, v in vars(summary).items() if k not in ("latest_figures", "next_targets", "data_version")}
    data["figures"] = [[f.on.isoformat(), f.metric, str(f.value), f.note, f.source] for f in summary.latest_figures]
    data["targets"] = [[t.deadline.isoformat(), t.title] for t in summary.next_targets]
    return data


def _from_json(data: dict, version: str) -> DashboardSummary:
    figures, targets = data.pop("figures"), data.pop("targets")
    return DashboardSummary(
        **data,
        latest_figures=[
            ShownFigure(date.fromisoformat(on), metric, Decimal(value), note, source)
            for on, metric, value, note, source in figures
        ],
        next_targets=[ShownTarget(date.fromisoformat(deadline), title) for deadline, title in targets],
        data_version=version,
    )


@cache
def _summary_statement():
    """Built once per process (its values are parameters: today, its year, the tenant); the tenant criteria and
    RLS apply to each execution as to any statement."""
    today = bindparam("today", type_=Date)
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
        _count(Producer.id).label("producers"),
        _count(Product.id).label("products"),
        select(func.jsonb_object_agg(by_status.c.status, by_status.c.n)).scalar_subquery().label("by_status"),
        select(func.jsonb_agg(aggregate_order_by(figures, latest.c.metric))).scalar_subquery().label("figures"),
        select(func.jsonb_agg(aggregate_order_by(targets, upcoming.c.deadline, upcoming.c.code)))
        .scalar_subquery()
        .label("targets"),
    )
