"""Where a province stands against its targets, computed live from its records on a date.

Every indicator comes from one aggregate query over the certificates (one row per product: first
recognition, valid that day, its star then, upgraded in the target's period), its product and producer.
A target's period starts at its `period_start` (else the first of the year of the date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from app.certification.models import Certificate
from app.certification.services import certificate_valid_on
from app.extensions import db
from app.planning.models import Target
from app.registry.models import Producer, Product, TaxonomyNode

# Top nodes of the taxonomy that are tourism (QĐ 148 group VI, QĐ 1048 sector 6).
TOURISM_GROUPS = (("148/QĐ-TTg", "VI"), ("1048/QĐ-TTg", "6"))
# Metrics the records cannot answer (no data kept on the platform): shown as "no data", never guessed.
NOT_IN_DATA = ("green_value_chain_percent", "digital_platform_percent", "trained_percent", "sales_points", "other")


class TargetError(ValueError):
    pass


def indicator_values(on: date, period_start: date | None = None) -> dict[str, Decimal | int | None]:
    """Every computable metric on `on`; `new_products`/`upgraded_products` count from `period_start`."""
    start = period_start or date(on.year, 1, 1)
    c = Certificate
    valid = certificate_valid_on(on)
    per_product = (
        select(
            c.product_id,
            func.min(c.decision_date).label("first_on"),
            func.bool_or(valid).label("valid"),
            func.max(case((valid, c.stars))).label("stars"),
            func.bool_or(and_(c.kind == "upgrade", c.decision_date >= start)).label("upgraded"),
        )
        .where(c.decision_date <= on)
        .group_by(c.product_id)
        .subquery("per_product")
    )
    node, up, top = (aliased(TaxonomyNode, name=n) for n in ("node", "up", "top"))
    group = case((node.parent_id.is_(None), node.id), (up.parent_id.is_(None), up.id), else_=top.id)
    tourism_ids = select(TaxonomyNode.id).where(
        or_(*(and_(TaxonomyNode.act == act, TaxonomyNode.code == code) for act, code in TOURISM_GROUPS))
    )
    v = per_product.c.valid
    organisations = Producer.kind.in_(("htx", "enterprise", "coop_group"))

    def distinct_producers(*conditions):
        return func.count(func.distinct(Producer.id)).filter(v, *conditions)

    stmt = (
        select(
            func.count().filter(v).label("certified_products"),
            *(
                func.count().filter(v, per_product.c.stars == s).label(f"certified_products_{s}_star")
                for s in (3, 4, 5)
            ),
            func.count().filter(per_product.c.first_on >= start).label("new_products"),
            func.count().filter(per_product.c.upgraded).label("upgraded_products"),
            distinct_producers().label("producers"),
            *(distinct_producers(Producer.kind == k).label(f"producers_{k}") for k in ("htx", "enterprise")),
            distinct_producers(Producer.kind == "coop_group").label("producers_coop_group"),
            distinct_producers(Producer.kind == "household").label("producers_household"),
            distinct_producers(organisations).label("economic_organisations"),
            func.count().filter(v, func.btrim(Product.traceability) != "").label("traced"),
            func.count().filter(v, group.in_(tourism_ids)).label("tourism_products"),
            func.count()
            .filter(v, Product.trademark_status.in_(("collective", "geographical_indication")))
            .label("trademarks_gi"),
            func.count().filter(v, func.cardinality(Product.export_countries) > 0).label("exporting_products"),
            func.count(func.distinct(func.coalesce(Product.unit_id, Producer.unit_id)))
            .filter(v)
            .label("communes_with_products"),
        )
        .select_from(per_product)
        .join(Product, Product.id == per_product.c.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .outerjoin(node, node.id == Product.product_set_id)
        .outerjoin(up, up.id == node.parent_id)
        .outerjoin(top, top.id == up.parent_id)
    )
    row = dict(db.session.execute(stmt).mappings().one())
    row["valid_certificates"] = row["certified_products"]
    row["producers_htx_sme_percent"] = _percent(row["producers_htx"] + row["producers_enterprise"], row["producers"])
    row["traceability_percent"] = _percent(row.pop("traced"), row["certified_products"])
    for metric in NOT_IN_DATA:
        row[metric] = None
    return row


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


@dataclass
class TargetProgress:
    target: Target
    current: Decimal | int | None  # None: the records do not hold this metric
    gap: Decimal | None  # still to reach (0 when met)
    percent_done: Decimal | None  # share of the way from the baseline to the target
    met: bool | None


def targets_progress(on: date, values: dict | None = None) -> list[TargetProgress]:
    """Each target of the province with its live value on `on` (one indicator query per distinct period;
    `values`: the indicators on `on` from the year's start, when the caller has them already)."""
    targets = db.session.scalars(select(Target).order_by(Target.deadline, Target.code)).all()
    cache: dict[date | None, dict] = {} if values is None else {None: values}
    out = []
    for target in targets:
        start = target.period_start if target.metric in ("new_products", "upgraded_products") else None
        if start not in cache:
            cache[start] = indicator_values(on, start)
        out.append(_progress(target, cache[start].get(target.metric)))
    return out


def _progress(target: Target, current) -> TargetProgress:
    if current is None:
        return TargetProgress(target, None, None, None, None)
    value, current = Decimal(target.value), Decimal(current)
    if target.comparator in (">=", ">"):
        met = current > value if target.comparator == ">" else current >= value
        gap = max(value - current, Decimal(0))
        base = Decimal(target.baseline_value or 0)
        span = value - base
        done = (current - base) * 100 / span if span > 0 else (Decimal(100) if met else Decimal(0))
    else:  # "<=" / "<": a ceiling
        met = current < value if target.comparator == "<" else current <= value
        gap = max(current - value, Decimal(0))
        done = Decimal(100) if met else Decimal(0)
    done = min(max(done, Decimal(0)), Decimal(100)).quantize(Decimal("0.1"))
    return TargetProgress(target, current, gap, done, met)


def target_update(target: Target, *, value, deadline: date, baseline_value=None, baseline_on=None) -> Target:
    """Change a target's figure, deadline and baseline (the audit hook records who and what)."""
    target.value = _number(value, _("Giá trị mục tiêu"))
    target.baseline_value = None if baseline_value in (None, "") else _number(baseline_value, _("Mốc cơ sở"))
    if not isinstance(deadline, date):
        raise TargetError(_("Hạn không hợp lệ."))
    target.deadline = deadline
    target.baseline_on = baseline_on
    db.session.flush()
    return target


def _number(text, label: str) -> Decimal:
    raw = str(text).strip().replace(".", "").replace(",", ".") if isinstance(text, str) else text
    try:
        number = Decimal(raw)
    except (ArithmeticError, ValueError, TypeError):
        raise TargetError(_("%(label)s phải là một số.", label=label)) from None
    if not number.is_finite() or number < 0 or number >= Decimal("1e12"):
        raise TargetError(_("%(label)s phải từ 0 đến dưới 1.000 tỷ.", label=label))
    return number.quantize(Decimal("0.01"))
