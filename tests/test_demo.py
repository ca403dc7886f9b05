"""`make run`'s demo data: every kind of tenant user has a login, and the demo cycle's rounds fall inside
its windows (tests/test_run.py seeds the same data through the launcher)."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import User
from app.core import clock
from app.cycle.models import Cycle, EvaluationRound
from app.demo.seed import DEMO_PRODUCER, seed_demo
from app.evaluation.models import CouncilMember
from app.extensions import db
from app.registry.models import Producer
from tenants.context import tenant_scope
from tenants.models import AdminUnit

PROVINCES = ("bac-giang", "bac-kan", "ha-tinh", "nam-dinh")


def test_demo_has_a_login_per_role_and_rounds_inside_the_windows(app, tenants):
    with app.app_context():
        # The four provinces only: the run's throwaway provinces would each cost six password hashes.
        logins = seed_demo(PROVINCES)
        assert seed_demo(PROVINCES) == logins  # idempotent
        emails = {email for _where, email, _password in logins}
        today = clock.today()
        for slug in PROVINCES:
            tenant_id = tenants[slug]
            with tenant_scope(tenant_id):
                users = {u.email: u for u in db.session.scalars(select(User).where(User.email.like("%.ocop.demo")))}
                roles = {email.split("@")[0]: user.roles for email, user in users.items()}
                assert {k: roles[k] for k in ("admin", "canbo", "canboxa", "hoidong", "kiemtra", "chuthe")} == {
                    "admin": ["province_admin"],
                    "canbo": ["province_officer"],
                    "canboxa": ["commune_officer"],
                    "hoidong": ["council_member"],
                    "kiemtra": ["inspector"],
                    "chuthe": ["producer"],
                }, slug
                assert {f"{k}@{slug}.ocop.demo" for k in roles} <= emails
                commune = db.session.get(AdminUnit, (tenant_id, users[f"canboxa@{slug}.ocop.demo"].unit_id))
                assert commune.kind in ("commune", "ward", "township") and commune.is_valid_on(today)
                producer = db.session.scalar(select(Producer).where(Producer.name == DEMO_PRODUCER))
                assert producer.unit_id == commune.id  # the commune officer sees the demo producer's work
                member = users[f"hoidong@{slug}.ocop.demo"]
                assert (
                    db.session.scalar(select(CouncilMember.role).where(CouncilMember.user_id == member.id)) == "member"
                )
                cycle = db.session.scalar(select(Cycle).where(Cycle.year == today.year))
                start = min(cycle.ideas_from, cycle.plans_from, cycle.dossiers_from)
                end = max(cycle.ideas_until, cycle.plans_until, cycle.dossiers_until)
                deadlines = db.session.scalars(
                    select(EvaluationRound.deadline).where(EvaluationRound.cycle_id == cycle.id)
                ).all()
                assert deadlines and all(start <= d <= end for d in deadlines), (slug, start, end, deadlines)
