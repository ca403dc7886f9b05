"""Test data, built one way everywhere.

Two layers:
- factory_boy factories for single rows (`ProducerFactory`, `ProductFactory`, `DocumentFactory`, …). They
  flush into `db.session`, so call them inside an app context and a `tenant_scope` (the before-flush hook
  stamps `tenant_id`; RLS checks it).
- helpers that open the app context and the tenant scope themselves, commit, and return ids (what tests
  and fixtures need, since ORM objects do not outlive the context): `new_tenant`, `producer_with_product`,
  `user_of_role`, `signed_in`, `application_at`, `document_accepted`.
Applications reach their status by walking the real workflow services, so the history is consistent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select

from app.certification.services import certificate_record
from app.core import clock
from app.documents.models import Document
from app.evaluation import services as evaluation
from app.extensions import db
from app.planning.models import Policy, Target
from app.registry.models import Producer, Product, RegistryImport, TaxonomyNode
from tenants.context import tenant_scope
from tenants.models import Council

PASSWORD = "Ocop-Test-2026"


def _short() -> str:
    return uuid.uuid4().hex[:8]


class _Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session = db.session
        sqlalchemy_session_persistence = "flush"


class ProducerFactory(_Factory):
    class Meta:
        model = Producer

    name = factory.LazyFunction(lambda: f"HTX Thử {_short()}")
    kind = "htx"


class ProductFactory(_Factory):
    """A product of a new producer unless `producer_id` is given."""

    class Meta:
        model = Product

    producer_id = factory.LazyFunction(lambda: ProducerFactory().id)
    name = factory.LazyFunction(lambda: f"Sản phẩm thử {_short()}")


class DocumentFactory(_Factory):
    """An accepted document (verification itself is tested in tests/documents)."""

    class Meta:
        model = Document

    requirement = "test_report"
    original_filename = factory.LazyAttribute(lambda o: f"{o.requirement}.pdf")
    content_type = "application/pdf"
    declared_size = 1000
    size = 1000
    sha256 = "0" * 64
    storage_key = factory.LazyFunction(lambda: f"test/{uuid.uuid4().hex}")
    status = "accepted"
    verified_at = factory.LazyFunction(lambda: datetime.now(UTC))


class PolicyFactory(_Factory):
    class Meta:
        model = Policy

    code = factory.LazyFunction(lambda: f"CS-{_short()}")
    title = "Chính sách hỗ trợ thử"


class TargetFactory(_Factory):
    """A target of certified products (≥ 10 by the end of 2030) unless told otherwise."""

    class Meta:
        model = Target

    code = factory.LazyFunction(lambda: f"t-{_short()}")
    title = "Mục tiêu thử"
    metric = "certified_products"
    comparator = ">="
    value = 10
    unit = "sản phẩm"
    deadline = date(2030, 12, 31)


class RegistryImportFactory(_Factory):
    class Meta:
        model = RegistryImport

    filename = "danh-sach.xlsx"
    storage_key = factory.LazyFunction(lambda: f"test/imports/{uuid.uuid4().hex}.xlsx")


def product_set_id(code: str, act: str = "148/QĐ-TTg") -> int:
    """Id of a product set of the national taxonomy (shared by every tenant)."""
    return db.session.scalar(select(TaxonomyNode.id).where(TaxonomyNode.act == act, TaxonomyNode.code == code))


# --------------------------------------------------------------------------- helpers that commit


def new_tenant(app, *, criteria_act: str = "1489/QĐ-TTg") -> tuple[int, str]:
    """A throwaway province created as the platform admin does: (tenant_id, slug), slug unique per call.

    For tests that count: nothing else ever writes into it.
    """
    from app.platform.services import tenant_create

    suffix = _short()
    with app.app_context():
        tenant = tenant_create(
            slug=f"thu-{suffix}",
            name=f"Tỉnh thử {suffix}",
            name_en=f"Test province {suffix}",
            official_code=None,
            standing_agency="Sở Nông nghiệp và Môi trường",
            criteria_act=criteria_act,
        )
        db.session.commit()
        return tenant.id, tenant.slug


def producer_with_product(app, tenant_id: int, *, stars: int | None = None, **product) -> tuple[int, int]:
    """A new producer with one product: (producer_id, product_id). `set_code="I.1.1"` picks a product set;
    `stars=3` certifies it (a decision 30 days ago, so the certificate is valid today)."""
    with app.app_context(), tenant_scope(tenant_id):
        set_code = product.pop("set_code", None)
        if set_code:
            product["product_set_id"] = product_set_id(set_code)
        row = ProductFactory(**product)
        if stars is not None:
            certificate_record(
                row,
                stars=stars,
                decision_number=f"{_short()}/QĐ-UBND",
                decision_date=clock.today() - timedelta(days=30),
            )
        db.session.commit()
        return row.producer_id, row.id


def certificate_recorded(app, tenant_id: int, product_id: int, **overrides) -> int:
    """A certificate of the product (3★, decided 30 days ago unless told otherwise); returns its id."""
    fields = {"stars": 3, "decision_number": f"{_short()}/QĐ-UBND", "decision_date": clock.today() - timedelta(days=30)}
    fields |= overrides
    with app.app_context(), tenant_scope(tenant_id):
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        certificate, _created = certificate_record(product, **fields)
        db.session.commit()
        return certificate.id


def user_of_role(
    app, tenant_id: int, *roles: str, producer_id=None, unit_id=None, email=None, password=PASSWORD, full_name=None
):
    """A user of the tenant who accepted the invitation (password set): (user_id, email)."""
    from app.auth import services as auth

    with app.app_context(), tenant_scope(tenant_id):
        user, _token = auth.user_invite(
            email=email or f"{roles[0] if roles else 'user'}-{uuid.uuid4().hex[:10]}@example.vn",
            full_name=full_name or "Nguyễn Văn Thử",
            roles=list(roles or ("province_officer",)),
            producer_id=producer_id,
            unit_id=unit_id,
        )
        auth.user_accept_invite(user, password)
        db.session.commit()
        return user.id, user.email


def signed_in(app, slug: str, email: str, password: str = PASSWORD):
    """A test client signed in at the province's login page (with its CSRF token)."""
    from tests.conftest import login

    client = app.test_client()
    response = login(client, f"/{slug}/login", email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def document_accepted(app, tenant_id: int, producer_id: int, product_id=None, *, stored=False, **fields) -> int:
    """An accepted document; `stored=True` also puts its bytes in storage as verification leaves them
    (with the verified sha256 in the metadata), so it can be downloaded."""
    import hashlib

    from app.core.storage import s3_client
    from app.documents.services import VERIFIED_SHA256_META

    with app.app_context(), tenant_scope(tenant_id):
        if stored:
            data = b"%PDF-1.4 test " + uuid.uuid4().hex.encode()
            fields |= {"size": len(data), "declared_size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        document = DocumentFactory(producer_id=producer_id, product_id=product_id, **fields)
        if stored:
            s3_client().put_object(
                Bucket=app.config["S3_BUCKET"],
                Key=document.verified_key,
                Body=data,
                ContentType=document.content_type,
                Metadata={VERIFIED_SHA256_META: document.sha256},
            )
        db.session.commit()
        return document.id


def open_cycle_around_today(days: int = 30):
    """This year's cycle of the current tenant with every window open around today (in scope)."""
    from app.cycle.models import Cycle
    from app.cycle.services import cycle_keep_open, cycle_open

    today = clock.today()
    cycle = db.session.scalar(select(Cycle).where(Cycle.year == today.year)) or cycle_open(today.year)
    cycle_keep_open(cycle, today - timedelta(days=days), today + timedelta(days=days))
    return cycle


# The workflow steps to each status of a new product's application: (action, who, extra arguments).
_STEPS = {
    "idea_submitted": [],
    "idea_returned": [("return_idea", "officer", {"reason": "Bổ sung nguồn nguyên liệu"})],
    "preparing_plan": [("accept_idea", "officer", {})],
    "plan_submitted": [("accept_idea", "officer", {}), ("submit_plan", "producer", {"business_plan": "20 tấn/năm"})],
}
_STEPS["plan_returned"] = _STEPS["plan_submitted"] + [("return_plan", "officer", {"reason": "Thiếu thị trường"})]
_STEPS["preparing_dossier"] = _STEPS["plan_submitted"] + [("accept_plan", "officer", {})]
_STEPS["dossier_submitted"] = _STEPS["preparing_dossier"] + [("submit_dossier", "producer", {})]
_STEPS["dossier_returned"] = _STEPS["dossier_submitted"] + [("return_dossier", "officer", {"reason": "Phiếu mờ"})]
_STEPS["screened"] = _STEPS["dossier_submitted"] + [("screen", "officer", {})]
_STEPS["ready_for_council"] = _STEPS["screened"] + [("forward_to_council", "officer", {})]
APPLICATION_STATUSES = tuple(_STEPS)


class ApplicationIds(NamedTuple):
    application_id: int
    producer_id: int
    product_id: int
    cycle_id: int


def application_at(
    app, tenant_id: int, status: str = "idea_submitted", *, producer_id=None, product_id=None
) -> ApplicationIds:
    """An application of a product (a new one unless given) at `status`, walked through the real workflow
    services in this year's cycle (its windows opened around today), with the history that goes with it."""
    from app.auth import services as auth
    from app.cycle import services

    steps = _STEPS[status]
    if product_id is None:
        producer_id, product_id = producer_with_product(app, tenant_id, set_code="I.1.1")
    today = clock.today()
    with app.app_context(), tenant_scope(tenant_id):
        actors = {
            "producer": auth.user_invite(
                email=f"producer-{_short()}@example.vn",
                full_name="Chủ thể thử",
                roles=["producer"],
                producer_id=producer_id,
            )[0],
            "officer": auth.user_invite(
                email=f"officer-{_short()}@example.vn", full_name="Cán bộ thử", roles=["province_officer"]
            )[0],
        }
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        application = services.application_start(
            cycle=open_cycle_around_today(),
            product=product,
            kind="new",
            user=actors["producer"],
            today=today,
            idea_summary="Ý tưởng thử",
        )
        for action, who, extra in steps:
            if action == "submit_dossier":
                for item in services.application_checklist(application, today):
                    if item.requirement.required and item.requirement.provided_by == "producer":
                        DocumentFactory(
                            producer_id=producer_id, product_id=product_id, requirement=item.requirement.code
                        )
            services.application_act(application, action, user=actors[who], today=today, **extra)
            db.session.flush()
        assert application.status == status
        db.session.commit()
        return ApplicationIds(application.id, producer_id, product_id, application.cycle_id)


def council_with_members(app, tenant_id: int, roles=("chair", "vice_chair", "member", "member")):
    """A province council (quorum 3/4, spread limit 10) with one new council-member user per role, in that
    order: (council_id, [(user_id, email), …])."""
    users = [user_of_role(app, tenant_id, "council_member") for _ in roles]
    with app.app_context(), tenant_scope(tenant_id):
        council = Council(
            code=f"HD-{_short()}",
            name="Hội đồng tỉnh",
            level="province",
            quorum_ratio=Decimal("0.75"),
            max_score_spread=Decimal("10"),
            dossier_lead_working_days=2,
        )
        db.session.add(council)
        db.session.flush()
        for role, (user_id, _email) in zip(roles, users, strict=True):
            evaluation.council_member_add(council, user_id, role)
        db.session.commit()
        return council.id, users


def inspection_planned(app, tenant_id: int, certificate_id: int, **fields) -> int:
    """A planned routine inspection of the certificate (due in 30 days unless told); returns its id."""
    from app.certification.models import Certificate
    from app.inspection.models import Inspection

    with app.app_context(), tenant_scope(tenant_id):
        certificate = db.session.scalar(select(Certificate).where(Certificate.id == certificate_id))
        values = {
            "certificate_id": certificate.id,
            "product_id": certificate.product_id,
            "kind": "routine",
            "period_key": f"test:{_short()}",
            "window_start": clock.today(),
            "due_on": clock.today() + timedelta(days=30),
            "status": "planned",
        } | fields
        inspection = Inspection(**values)
        db.session.add(inspection)
        db.session.commit()
        return inspection.id


def inspection_with_records(app, tenant_id: int, certificate_id: int, user_id: int) -> int:
    """A done inspection with one of everything: policy, answer, photo, sample with a lab result,
    corrective action, revocation proposal (the RLS seed needs a row in every table)."""
    from app.inspection.models import (
        CorrectiveAction,
        Inspection,
        InspectionAnswer,
        InspectionAttachment,
        InspectionPolicy,
        InspectionSample,
        LabResult,
        RevocationProposal,
    )

    inspection_id = inspection_planned(
        app,
        tenant_id,
        certificate_id,
        status="done",
        inspector_id=user_id,
        visited_on=clock.today(),
        outcome="major",
    )
    with app.app_context(), tenant_scope(tenant_id):
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))
        product = db.session.scalar(select(Product).where(Product.id == inspection.product_id))
        document = DocumentFactory(
            producer_id=product.producer_id, product_id=product.id, requirement="inspection_photo"
        )
        if db.session.scalar(select(InspectionPolicy.id)) is None:
            db.session.add(InspectionPolicy(rules={}, version=1, source="default"))
        sample = InspectionSample(inspection_id=inspection_id, code="M1", taken_on=clock.today(), status="taken")
        db.session.add_all(
            [
                InspectionAnswer(inspection_id=inspection_id, item_code="label", item_text="Nhãn", answer="yes"),
                InspectionAttachment(inspection_id=inspection_id, document_id=document.id, role="photo"),
                sample,
                CorrectiveAction(
                    inspection_id=inspection_id, description="Bổ sung nhãn", due_on=clock.today(), status="open"
                ),
                RevocationProposal(
                    inspection_id=inspection_id,
                    certificate_id=certificate_id,
                    grounds="records",
                    reason="Thiếu hồ sơ",
                    proposed_by=user_id,
                ),
            ]
        )
        db.session.flush()
        db.session.add(LabResult(sample_id=sample.id, parameter="Coliforms", value="< 10", passed=True))
        db.session.commit()
        return inspection_id


def bulk_products(app, tenant_id: int, *, producers: int = 5000, per_producer: int = 4) -> None:
    """A large province set-wise (two INSERT … SELECT): `producers` producers with `per_producer` products
    each, named with a unique hex tag so a search can hit exactly one; then ANALYZE (as the owner) so the
    planner sees the real sizes. For plan tests and benchmarks; the national generator replaces it at scale."""
    import os

    import psycopg
    from sqlalchemy import text

    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(
            text(
                "INSERT INTO producers (tenant_id, name, kind, address, representative) "
                "SELECT :t, 'Hợp tác xã Nông sản ' || substr(md5(g::text), 1, 10), 'htx', 'Thôn ' || g, "
                "'Nguyễn Văn ' || g FROM generate_series(1, :n) g"
            ),
            {"t": tenant_id, "n": producers},
        )
        db.session.execute(
            text(
                "INSERT INTO products (tenant_id, producer_id, name, other_units, raw_material_area, capacity, "
                "markets, export_countries, traceability, trademark_status) "
                "SELECT p.tenant_id, p.id, 'Vải thiều sấy ' || substr(md5(p.id::text || '-' || g), 1, 12), "
                "'', '', '', '', '{}', '', 'none' FROM producers p, generate_series(1, :k) g WHERE p.tenant_id = :t"
            ),
            {"t": tenant_id, "k": per_producer},
        )
        db.session.commit()
    with psycopg.connect(os.environ["MIGRATION_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("ANALYZE producers")
        conn.execute("ANALYZE products")
