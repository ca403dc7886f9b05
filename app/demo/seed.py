"""Demo accounts for `make run` (never run in production: the passwords are printed)."""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from app.auth import services
from app.auth.models import Account, User
from app.auth.roles import (
    COMMUNE_OFFICER,
    COUNCIL_MEMBER,
    INSPECTOR,
    NATIONAL_VIEWER,
    PLATFORM_ADMIN,
    PRODUCER,
    PROVINCE_ADMIN,
    PROVINCE_OFFICER,
)
from app.certification.models import Certificate
from app.certification.services import certificate_record, certificate_revoke
from app.core import clock
from app.core.acts import DEFAULT_TAXONOMY_ACT
from app.cycle.models import Cycle, EvaluationRound
from app.cycle.services import cycle_keep_open, cycle_open
from app.evaluation.services import council_member_add
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from tenants.context import Actor, acting_as, tenant_scope
from tenants.models import AdminUnit, Council, Tenant

DEMO_PASSWORD = "OcopDemo2026"
DEMO_PRODUCER = "HTX Mẫu OCOP"


def _ensure_account(email: str, name: str, role: str) -> None:
    if db.session.scalar(select(Account).where(Account.email == email)) is None:
        services.account_create(email=email, full_name=name, role=role, password=DEMO_PASSWORD)


def _ensure_user(email: str, name: str, roles: list[str], unit_id: int | None = None) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user, _token = services.user_invite(email=email, full_name=name, roles=roles, unit_id=unit_id)
        services.user_accept_invite(user, DEMO_PASSWORD)
    return user


def _demo_commune(today) -> int | None:
    """The commune of the demo producer and of the demo commune officer: one in force today (the commune
    screens dossiers since 01/07/2025), so the officer sees the producer's application."""
    return db.session.scalar(
        select(AdminUnit.id)
        .where(AdminUnit.kind.in_(("commune", "ward", "township")), AdminUnit.is_valid_on(today))
        .order_by(AdminUnit.code)
        .limit(1)
    )


def _ensure_council_member(tenant: Tenant) -> str:
    """A council member, seated on the province's council (when the file declares one)."""
    email = f"hoidong@{tenant.slug}.ocop.demo"
    user = _ensure_user(email, f"Thành viên Hội đồng {tenant.name}", [COUNCIL_MEMBER])
    council = db.session.scalar(select(Council).where(Council.level == "province").order_by(Council.code).limit(1))
    if council is not None:
        council_member_add(council, user.id, "member")
    return email


def _ensure_cycle_and_producer(tenant: Tenant) -> str | None:
    """This year's cycle with its windows open now, and one producer with a product and a login."""

    today = clock.today()
    cycle = db.session.scalar(select(Cycle).where(Cycle.year == today.year)) or cycle_open(today.year)
    # Demo only: keep every window open around today so each step can be tried at once.
    start = max(date(today.year, 1, 1), today - timedelta(days=60))
    end = min(date(today.year, 12, 31), today + timedelta(days=30))
    cycle_keep_open(cycle, start, end)
    _rounds_within(cycle, today, end)
    commune = _demo_commune(today)
    producer = db.session.scalar(select(Producer).where(Producer.name == DEMO_PRODUCER))
    if producer is None:
        producer = Producer(name=DEMO_PRODUCER, kind="htx", representative="Nguyễn Văn Mẫu", unit_id=commune)
        db.session.add(producer)
        db.session.flush()
        honey = db.session.scalar(
            select(TaxonomyNode.id)
            .where(TaxonomyNode.act == DEFAULT_TAXONOMY_ACT, TaxonomyNode.level == "set")
            .limit(1)
        )
        db.session.add(Product(producer_id=producer.id, name="Mật ong hoa rừng", product_set_id=honey, unit_id=commune))
        db.session.flush()
    email = f"chuthe@{tenant.slug}.ocop.demo"
    if db.session.scalar(select(User).where(User.email == email)) is None:
        user, _token = services.user_invite(
            email=email, full_name=DEMO_PRODUCER, roles=[PRODUCER], producer_id=producer.id
        )
        services.user_accept_invite(user, DEMO_PASSWORD)
    return email


def _rounds_within(cycle: Cycle, first, last) -> None:
    """The cycle's evaluation rounds moved inside the windows the demo keeps open (their template dates, in
    the year's first months or summer, would fall before them): spread from today to the windows' end."""
    rounds = db.session.scalars(
        select(EvaluationRound).where(EvaluationRound.cycle_id == cycle.id).order_by(EvaluationRound.deadline)
    ).all()
    span = max((last - first).days, 0)
    for n, council_round in enumerate(rounds, start=1):
        council_round.deadline = first + timedelta(days=span * n // len(rounds))


# (product, producer, kind, stars, score, how the certificate stands today) — a little of everything.
DEMO_CERTIFIED = (
    ("Chè xanh đặc sản", "HTX Chè Mẫu", "htx", 4, "78.5", "valid"),
    ("Gạo thơm hữu cơ", "HTX Chè Mẫu", "htx", 3, "62", "valid"),
    ("Nước mắm truyền thống", "Công ty TNHH Mẫu Ven Biển", "enterprise", 3, "55", "expiring"),
    ("Bánh đa vừng", "Hộ kinh doanh Mẫu", "household", 3, "51", "expired"),
    ("Miến dong", "Hộ kinh doanh Mẫu", "household", 4, "72", "revoked"),
    ("Rượu men lá", "Tổ hợp tác Mẫu", "coop_group", 3, "58", "valid"),
)


def _ensure_certificates(tenant: Tenant) -> None:
    """Demo products with certificates (valid, expiring, expired, one revoked), so the dashboard and the
    lists show real counts. Only products without any certificate get one: re-running adds nothing."""

    today = clock.today()
    communes = db.session.scalars(
        select(AdminUnit.id)
        .where(AdminUnit.parent_id.in_(select(AdminUnit.id).where(AdminUnit.kind == "district")))
        .order_by(AdminUnit.code)
    ).all() or [None]
    sets = db.session.scalars(
        select(TaxonomyNode.id)
        .where(TaxonomyNode.act == DEFAULT_TAXONOMY_ACT, TaxonomyNode.level == "set")
        .order_by(TaxonomyNode.code)
    ).all() or [None]
    decided_for = {
        "valid": today - timedelta(days=200),
        "expiring": today - relativedelta(months=36) + timedelta(days=20),  # last day in 20 days
        "expired": today - relativedelta(months=40),
        "revoked": today - timedelta(days=400),
    }
    for n, (name, producer_name, kind, stars, score, standing) in enumerate(DEMO_CERTIFIED):
        producer = db.session.scalar(select(Producer).where(Producer.name == producer_name))
        if producer is None:
            producer = Producer(name=producer_name, kind=kind, unit_id=communes[(n * 7) % len(communes)])
            db.session.add(producer)
            db.session.flush()
        product = db.session.scalar(select(Product).where(Product.producer_id == producer.id, Product.name == name))
        if product is None:
            product = Product(producer_id=producer.id, name=name, product_set_id=sets[(n * 5) % len(sets)])
            db.session.add(product)
            db.session.flush()
        if db.session.scalar(select(Certificate.id).where(Certificate.product_id == product.id).limit(1)):
            continue
        decided = decided_for[standing]
        cert, _created = certificate_record(
            product,
            stars=stars,
            score=score,
            decision_number=f"{100 + n}/QĐ-UBND",
            decision_date=decided,
            source="manual",
        )
        if standing == "revoked":
            certificate_revoke(
                cert,
                "Vi phạm quy định về nhãn hàng hóa (dữ liệu mẫu)",
                f"{200 + n}/QĐ-UBND",
                today - timedelta(days=30),
            )


def seed_demo(slugs: tuple[str, ...] | None = None) -> list[tuple[str, str, str]]:
    """Idempotent. Returns (where, email, password) for every demo login; `slugs` limits it to those provinces."""
    logins = []
    with acting_as(Actor("system", None, "demo seed")):
        _ensure_account("platform@ocop.demo", "Quản trị nền tảng", PLATFORM_ADMIN)
        _ensure_account("national@ocop.demo", "Văn phòng Điều phối NTM Trung ương", NATIONAL_VIEWER)
        logins += [
            ("/platform/login", "platform@ocop.demo", DEMO_PASSWORD),
            ("/national/login", "national@ocop.demo", DEMO_PASSWORD),
        ]
        tenants = select(Tenant).order_by(Tenant.slug)
        if slugs is not None:
            tenants = tenants.where(Tenant.slug.in_(slugs))
        for tenant in db.session.scalars(tenants).all():
            with tenant_scope(tenant.id):
                _ensure_user(f"admin@{tenant.slug}.ocop.demo", f"Quản trị {tenant.name}", [PROVINCE_ADMIN])
                _ensure_user(f"canbo@{tenant.slug}.ocop.demo", f"Cán bộ OCOP {tenant.name}", [PROVINCE_OFFICER])
                producer_email = _ensure_cycle_and_producer(tenant)
                _ensure_user(
                    f"canboxa@{tenant.slug}.ocop.demo",
                    f"Cán bộ xã {tenant.name}",
                    [COMMUNE_OFFICER],
                    unit_id=_demo_commune(clock.today()),
                )
                council_email = _ensure_council_member(tenant)
                _ensure_user(f"kiemtra@{tenant.slug}.ocop.demo", f"Cán bộ kiểm tra {tenant.name}", [INSPECTOR])
                _ensure_certificates(tenant)
                db.session.flush()
            logins += [
                (f"/{tenant.slug}/login", f"{who}@{tenant.slug}.ocop.demo", DEMO_PASSWORD)
                for who in ("admin", "canbo", "canboxa")
            ]
            logins += [
                (f"/{tenant.slug}/login", producer_email, DEMO_PASSWORD),
                (f"/{tenant.slug}/login", council_email, DEMO_PASSWORD),
                (f"/{tenant.slug}/login", f"kiemtra@{tenant.slug}.ocop.demo", DEMO_PASSWORD),
            ]
        db.session.commit()
    return logins
