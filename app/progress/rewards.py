"""Support and reward policies applied to certificates: what each certificate earns, approval, payment.

A policy's reward lines (`policy_items` of kind "reward" with `applies_to`) are rules: the star they pay
for, optionally a product group and producer kinds, an amount (or a percentage of the star's first-product
amount, within a cap), and whether they pay a producer's first product, a further one, any, or an upgrade
(the new star's reward minus what the product already received under the policy). `entitlements_sync`
reads the tenant's certificates set-wise and inserts what is missing (a certificate earns a policy once,
by a unique key), so recording a certificate yields its entitlement at the next sync: the rewards page
and a job every minute (app/progress/jobs.py) run it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from app.certification.models import Certificate
from app.core import clock
from app.extensions import db
from app.planning.models import Budget, Policy
from app.progress.models import Entitlement
from app.registry.models import Producer, Product, TaxonomyNode

RULES = ("first", "further", "any", "upgrade")


class RewardError(ValueError):
    pass


class RewardChangedMeanwhile(RewardError):
    def __init__(self):
        super().__init__(_("Khoản thưởng đã được người khác xử lý, vui lòng tải lại trang."))


@dataclass(frozen=True)
class Line:
    code: str
    rule: str
    stars: int | None
    group: str | None
    kinds: frozenset[str] | None
    amount: int | None
    share: Decimal | None
    cap: int | None
    budget_line: str | None

    def matches(self, stars: int, group: str | None, kind: str) -> bool:
        return (
            (self.stars is None or self.stars == stars)
            and (self.group is None or self.group == group)
            and (self.kinds is None or kind in self.kinds)
        )


def _lines(policy: Policy) -> list[Line]:
    return [
        Line(
            i.code,
            i.applies_to,
            i.stars,
            i.product_group,
            frozenset(k.strip() for k in i.producer_kinds.split(",") if k.strip()) if i.producer_kinds else None,
            i.amount_vnd,
            i.share_percent,
            i.cap_vnd,
            i.budget_line,
        )
        for i in policy.items
        if i.kind == "reward" and i.applies_to in RULES
    ]


def _star_reward(lines: list[Line], stars: int, group, kind, first: bool) -> tuple[Line, int] | None:
    """The line that prices a product newly reaching `stars` and its amount (first before further/any)."""
    wanted = ("first", "any") if first else ("further", "any")
    candidates = [line for line in lines if line.rule in wanted and line.matches(stars, group, kind)]
    if not candidates:
        return None
    line = sorted(candidates, key=lambda x: wanted.index(x.rule))[0]
    return line, _amount(lines, line, stars, group, kind)


def _amount(lines: list[Line], line: Line, stars: int, group, kind) -> int:
    if line.amount is not None:
        amount = line.amount
    elif line.share is not None:
        base = next((x.amount for x in lines if x.rule in ("first", "any") and x.matches(stars, group, kind)), 0)
        amount = int((Decimal(base or 0) * line.share / 100).to_integral_value())
    else:
        amount = 0
    return min(amount, line.cap) if line.cap is not None else amount


def _certificates():
    """Every certificate of the tenant in decision order, with its product's producer, kind and group."""
    node, up, top = (aliased(TaxonomyNode, name=n) for n in ("node", "up", "top"))
    group = case((node.parent_id.is_(None), node.code), (up.parent_id.is_(None), up.code), else_=top.code)
    stmt = (
        select(
            Certificate.id,
            Certificate.product_id,
            Certificate.stars,
            Certificate.decision_date,
            Certificate.revoked_on,
            Product.producer_id,
            Producer.kind,
            group.label("group"),
        )
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .outerjoin(node, node.id == Product.product_set_id)
        .outerjoin(up, up.id == node.parent_id)
        .outerjoin(top, top.id == up.parent_id)
        .order_by(Certificate.decision_date, Certificate.id)
    )
    return db.session.execute(stmt).all()


def entitlements_sync(today: date | None = None) -> int:
    """Compute the entitlements of every reward policy of the current tenant; returns how many were added."""
    today = today or clock.today()
    policies = db.session.scalars(select(Policy).order_by(Policy.id)).all()
    rows = None
    added = 0
    for policy in policies:
        lines = _lines(policy)
        if not lines:
            continue
        rows = rows if rows is not None else _certificates()
        existing = {
            e.certificate_id: e
            for e in db.session.scalars(select(Entitlement).where(Entitlement.policy_id == policy.id))
        }
        received: dict[int, int] = defaultdict(int)  # product -> amount granted under this policy so far
        rewarded_stars: dict[int, int] = {}
        certified_products: dict[int, set[int]] = defaultdict(set)  # producer -> products certified before
        for cert in rows:
            first_product = not (certified_products[cert.producer_id] - {cert.product_id})
            certified_products[cert.producer_id].add(cert.product_id)
            in_window = (policy.valid_from is None or cert.decision_date >= policy.valid_from) and (
                policy.valid_to is None or cert.decision_date <= policy.valid_to
            )
            if not in_window or cert.revoked_on == cert.decision_date:
                continue
            known = existing.get(cert.id)
            if known is not None:
                if known.status != "rejected":
                    received[cert.product_id] += known.amount_vnd
                    rewarded_stars[cert.product_id] = max(rewarded_stars.get(cert.product_id, 0), known.stars)
                continue
            priced = _price(lines, cert, first_product, received, rewarded_stars)
            if priced is None:
                continue
            line, rule, amount = priced
            added += _insert(policy, cert, line, rule, amount)
            received[cert.product_id] += amount
            rewarded_stars[cert.product_id] = cert.stars
    db.session.flush()
    return added


def _price(lines, cert, first_product: bool, received, rewarded_stars):
    before = rewarded_stars.get(cert.product_id)
    if before is not None and cert.stars <= before:
        return None  # re-recognised at the same or a lower star: nothing more
    star = _star_reward(lines, cert.stars, cert.group, cert.kind, first_product and before is None)
    if before is None:
        return (star[0], star[0].rule, star[1]) if star else None
    upgrade = next((x for x in lines if x.rule == "upgrade" and x.matches(cert.stars, cert.group, cert.kind)), None)
    if upgrade is None or star is None:
        return None
    # The new star's reward (the first-product amount when the star has one) minus what was received.
    new_star = _star_reward(lines, cert.stars, cert.group, cert.kind, True) or star
    return upgrade, "upgrade", max(new_star[1] - received[cert.product_id], 0)


def _insert(policy: Policy, cert, line: Line, rule: str, amount: int) -> int:
    stmt = (
        insert(Entitlement)
        .values(
            tenant_id=policy.tenant_id,
            certificate_id=cert.id,
            product_id=cert.product_id,
            producer_id=cert.producer_id,
            policy_id=policy.id,
            item_code=line.code,
            rule=rule,
            stars=cert.stars,
            amount_vnd=amount,
            budget_year=cert.decision_date.year,
            budget_line=line.budget_line,
            status="computed",
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "certificate_id", "policy_id"])
        .returning(Entitlement.id)
    )
    return len(db.session.execute(stmt).all())


def _locked(entitlement_id: int) -> Entitlement:
    ent = db.session.scalar(
        select(Entitlement)
        .where(Entitlement.id == entitlement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if ent is None:
        raise RewardError(_("Không tìm thấy khoản thưởng."))
    return ent


def _ref(text, label: str) -> str:
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text or len(text) > 64 or "\x00" in text or text[0] in "=+-@":
        raise RewardError(_("%(label)s: nhập số văn bản (tối đa 64 ký tự, không bắt đầu bằng = + - @).", label=label))
    return text


def entitlement_approve(user, entitlement_id: int, *, reference: str) -> Entitlement:
    """Approve a computed entitlement (locked; a second officer at the same time gets RewardChangedMeanwhile)."""
    reference = _ref(reference, _("Số quyết định phê duyệt"))
    ent = _locked(entitlement_id)
    if ent.status != "computed":
        raise RewardChangedMeanwhile()
    ent.status, ent.approved_by, ent.approved_at, ent.approval_ref = "approved", user.id, clock.now(), reference
    db.session.flush()
    return ent


def entitlement_pay(user, entitlement_id: int, *, reference: str) -> Entitlement:
    """Record the payment of an approved entitlement, once: a paid one is never paid again."""
    reference = _ref(reference, _("Số chứng từ chi"))
    ent = _locked(entitlement_id)
    if ent.status != "approved":
        raise RewardChangedMeanwhile()
    ent.status, ent.paid_by, ent.paid_at, ent.payment_ref = "paid", user.id, clock.now(), reference
    db.session.flush()
    return ent


@dataclass
class BudgetYear:
    year: int
    planned: int | None
    computed: int
    committed: int  # approved, not yet paid, plus paid
    paid: int


def budget_years() -> list[BudgetYear]:
    """Per year: the planned budget (province file) against rewards computed, committed and paid."""
    e = Entitlement
    sums = {
        row.year: row
        for row in db.session.execute(
            select(
                e.budget_year.label("year"),
                func.coalesce(func.sum(e.amount_vnd).filter(e.status != "rejected"), 0).label("computed"),
                func.coalesce(func.sum(e.amount_vnd).filter(e.status.in_(("approved", "paid"))), 0).label("committed"),
                func.coalesce(func.sum(e.amount_vnd).filter(e.status == "paid"), 0).label("paid"),
            ).group_by(e.budget_year)
        )
    }
    planned = {b.year: b.amount_vnd for b in db.session.scalars(select(Budget))}
    years = sorted(set(sums) | set(planned))
    return [
        BudgetYear(
            y,
            planned.get(y),
            int(sums[y].computed) if y in sums else 0,
            int(sums[y].committed) if y in sums else 0,
            int(sums[y].paid) if y in sums else 0,
        )
        for y in years
    ]


def entitlements_query(status: str | None = None):
    stmt = (
        select(Entitlement, Product.name, Producer.name)
        .join(Product, Product.id == Entitlement.product_id)
        .join(Producer, Producer.id == Entitlement.producer_id)
        .order_by(Entitlement.id.desc())
    )
    if status:
        stmt = stmt.where(Entitlement.status == status)
    return stmt
