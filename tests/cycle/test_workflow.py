"""Every status transition of an application, with its rules, on the real database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.certification.services import certificate_record
from app.core import clock
from app.cycle import services, workflow
from app.cycle.checklist import requirements_for
from app.cycle.models import Application, Cycle
from app.extensions import db
from app.registry.models import Product
from tenants.context import tenant_scope
from tenants.models import AdminUnit
from tests.conftest import create_user
from tests.factories import DocumentFactory, producer_with_product, user_of_role

YEAR = 2031  # a cycle of its own, so tests do not collide with the demo year
IN_IDEAS = date(YEAR, 3, 10)
IN_PLANS = date(YEAR, 4, 15)
IN_DOSSIERS = date(YEAR, 6, 1)


def _cycle(year=YEAR) -> Cycle:
    return db.session.scalar(select(Cycle).where(Cycle.year == year)) or services.cycle_open(year)


def _cycle_open_today() -> Cycle:
    """This year's cycle with every window open around today (history timestamps are real)."""
    today = clock.today()
    cycle = _cycle(today.year)
    services.cycle_keep_open(cycle, today - timedelta(days=30), today + timedelta(days=30))
    return cycle


def _user(user_id) -> User:
    return db.session.scalar(select(User).where(User.id == user_id))


@pytest.fixture()
def actors(app, tenants):
    """A product of a new producer in Bắc Giang, its producer user, and officers."""
    producer_id, product_id = producer_with_product(app, tenants["bac-giang"], set_code="I.1.1")
    producer, _email = user_of_role(app, tenants["bac-giang"], "producer", producer_id=producer_id)
    officer, _e = create_user(app, tenants["bac-giang"], roles=("province_officer",))
    return {"producer_id": producer_id, "product_id": product_id, "producer": producer, "officer": officer}


def _act(application, action, user_id, today, **kw):
    services.application_act(application, action, user=_user(user_id), today=today, **kw)
    db.session.flush()


def _fill_checklist(application, producer_id, product_id, today):
    for item in services.application_checklist(application, today):
        if item.requirement.required and item.requirement.provided_by == "producer":
            DocumentFactory(producer_id=producer_id, product_id=product_id, requirement=item.requirement.code)


def test_new_product_goes_from_idea_to_council_with_returns(app, tenants, actors):
    a = actors
    today = clock.today()
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        cycle = _cycle_open_today()
        product = db.session.scalar(select(Product).where(Product.id == a["product_id"]))
        app_ = services.application_start(
            cycle=cycle,
            product=product,
            kind="new",
            user=_user(a["producer"]),
            today=today,
            idea_summary="Vải sấy khô đóng hộp",
        )
        assert app_.status == "idea_submitted"
        # Returned with a reason; resubmitted only after a week.
        _act(app_, "return_idea", a["officer"], today, reason="Bổ sung nguồn nguyên liệu")
        assert app_.status == "idea_returned" and app_.last_reason == "Bổ sung nguồn nguyên liệu"
        with pytest.raises(services.WorkflowError, match="sau 7 ngày"):
            _act(app_, "resubmit_idea", a["producer"], today)
        # A week later (the history is append-only, so time moves forward instead).
        _act(app_, "resubmit_idea", a["producer"], today + timedelta(days=8))
        assert app_.status == "idea_submitted" and app_.last_reason is None
        _act(app_, "accept_idea", a["officer"], today)
        assert app_.status == "preparing_plan"
        # Business plan: returned once, then accepted.
        with pytest.raises(services.WorkflowError, match="phương án"):
            _act(app_, "submit_plan", a["producer"], today)
        _act(app_, "submit_plan", a["producer"], today, business_plan="Sản lượng 20 tấn/năm")
        _act(app_, "return_plan", a["officer"], today, reason="Thiếu phân tích thị trường")
        assert app_.status == "plan_returned"
        _act(app_, "submit_plan", a["producer"], today, business_plan="Thêm thị trường Hà Nội")
        _act(app_, "accept_plan", a["officer"], today)
        assert app_.status == "preparing_dossier"
        # The dossier cannot be submitted while documents are missing.
        with pytest.raises(services.WorkflowError, match="còn thiếu"):
            _act(app_, "submit_dossier", a["producer"], today)
        _fill_checklist(app_, a["producer_id"], a["product_id"], today)
        _act(app_, "submit_dossier", a["producer"], today)
        assert app_.status == "dossier_submitted"
        _act(app_, "return_dossier", a["officer"], today, reason="Phiếu kiểm nghiệm mờ")
        _act(app_, "submit_dossier", a["producer"], today)
        _act(app_, "screen", a["officer"], today)
        assert app_.status == "screened"
        _act(app_, "forward_to_council", a["officer"], today)
        assert app_.status == "ready_for_council"
        history = [(e.action, e.from_status, e.to_status) for e in services.application_history(app_)]
        assert history[0] == ("start", None, "idea_submitted")
        assert history[-1] == ("forward_to_council", "screened", "ready_for_council")
        assert len(history) == 13
        db.session.rollback()


def test_windows_roles_and_ownership_are_enforced(app, tenants, actors):
    a = actors
    _other_producer, other_product = producer_with_product(app, tenants["bac-giang"], set_code="I.1.1")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        cycle = _cycle()
        product = db.session.scalar(select(Product).where(Product.id == a["product_id"]))
        with pytest.raises(services.WorkflowError, match="Ngoài thời gian"):
            services.application_start(
                cycle=cycle,
                product=product,
                kind="new",
                user=_user(a["producer"]),
                today=date(YEAR, 11, 1),
                idea_summary="x",
            )
        foreign = db.session.scalar(select(Product).where(Product.id == other_product))
        with pytest.raises(services.WorkflowError, match="của chủ thể mình"):
            services.application_start(
                cycle=cycle, product=foreign, kind="new", user=_user(a["producer"]), today=IN_IDEAS, idea_summary="x"
            )
        app_ = services.application_start(
            cycle=cycle, product=product, kind="new", user=_user(a["producer"]), today=IN_IDEAS, idea_summary="Mật ong"
        )
        with pytest.raises(services.WorkflowError, match="Vai trò"):
            _act(app_, "accept_idea", a["producer"], IN_IDEAS)
        with pytest.raises(services.WorkflowError, match="lý do"):
            _act(app_, "return_idea", a["officer"], IN_IDEAS, reason="  ")
        with pytest.raises(services.WorkflowError, match="trạng thái hiện tại"):
            _act(app_, "forward_to_council", a["officer"], IN_IDEAS)
        with pytest.raises(services.WorkflowError, match="đã đăng ký"):
            services.application_start(
                cycle=cycle,
                product=product,
                kind="new",
                user=_user(a["officer"]),
                today=IN_IDEAS,
                idea_summary="lần hai",
            )
        db.session.rollback()


def test_commune_screens_after_the_reform_district_before(app, tenants, actors):
    assert workflow.screening_level(date(2025, 6, 30)) == "district"
    assert workflow.screening_level(date(2025, 7, 1)) == "commune"
    a = actors
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        product = db.session.scalar(select(Product).where(Product.id == a["product_id"]))
        certificate_record(
            product, stars=3, decision_number="2/QĐ-UBND", decision_date=clock.today() - timedelta(days=30)
        )
        commune_id, _e = create_user(app, tenants["bac-giang"], roles=("commune_officer",))
        app_ = services.application_start(
            cycle=_cycle(), product=product, kind="re_recognition", user=_user(a["officer"]), today=IN_DOSSIERS
        )
        _fill_checklist(app_, a["producer_id"], a["product_id"], IN_DOSSIERS)
        _act(app_, "submit_dossier", a["producer"], IN_DOSSIERS)
        assert app_.screening_level == "commune"
        # A commune officer of another commune may not screen it; the product's commune may.
        communes = db.session.scalars(select(AdminUnit.id).where(AdminUnit.kind == "commune").limit(2)).all()
        product.unit_id = communes[0]
        _user(commune_id).unit_id = communes[1]
        with pytest.raises(services.WorkflowError, match="cán bộ xã"):
            _act(app_, "screen", commune_id, IN_DOSSIERS)
        _user(commune_id).unit_id = communes[0]
        _act(app_, "screen", commune_id, IN_DOSSIERS)
        assert app_.status == "screened"
        db.session.rollback()


def test_upgrade_reuses_a_still_valid_document(app, tenants):
    producer_id, product_id = producer_with_product(app, tenants["bac-giang"], set_code="I.1.1", stars=3)
    producer, _email = user_of_role(app, tenants["bac-giang"], "producer", producer_id=producer_id)
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        # Evidence from the earlier certification, still valid.
        earlier = clock.today() - timedelta(days=400)
        old_test = DocumentFactory(
            producer_id=producer_id,
            product_id=product_id,
            requirement="test_report",
            valid_until=IN_DOSSIERS + timedelta(days=200),
            created_at=earlier,
        )
        expired = DocumentFactory(
            producer_id=producer_id,
            product_id=product_id,
            requirement="food_safety_certificate",
            valid_until=IN_DOSSIERS - timedelta(days=1),
            created_at=earlier,
        )
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        with pytest.raises(services.WorkflowError, match="cao hơn"):
            services.application_start(
                cycle=_cycle(), product=product, kind="upgrade", user=_user(producer), today=IN_DOSSIERS, target_stars=3
            )
        app_ = services.application_start(
            cycle=_cycle(), product=product, kind="upgrade", user=_user(producer), today=IN_DOSSIERS, target_stars=4
        )
        assert app_.status == "preparing_dossier"
        items = {i.requirement.code: i for i in services.application_checklist(app_, IN_DOSSIERS)}
        assert items["test_report"].state == "missing"
        assert [d.id for d in items["test_report"].reusable] == [old_test.id]
        # An expired document is never offered for reuse.
        assert expired.id not in [d.id for d in items["food_safety_certificate"].reusable]
        services.application_reuse_document(app_, "test_report", old_test.id, IN_DOSSIERS)
        db.session.flush()
        items = {i.requirement.code: i for i in services.application_checklist(app_, IN_DOSSIERS)}
        assert items["test_report"].state == "accepted" and items["test_report"].document.id == old_test.id
        with pytest.raises(services.WorkflowError, match="không dùng lại"):
            services.application_reuse_document(app_, "product_story", expired.id, IN_DOSSIERS)
        db.session.rollback()


def test_checklist_depends_on_rule_version_and_product_group():
    tourism = {r.code for r in requirements_for("148/QĐ-TTg", "new", "VI")}
    food = {r.code for r in requirements_for("148/QĐ-TTg", "new", "I")}
    assert "product_samples" in food and "product_samples" not in tourism
    assert "food_safety_certificate" in food and "food_safety_certificate" not in tourism
    upgrade = {r.code for r in requirements_for("148/QĐ-TTg", "re_recognition", "I")}
    assert upgrade - food  # re-recognition asks for the report on the certified years
    commune = {r.code for r in requirements_for("1489/QĐ-TTg", "new", "I")}
    assert commune - {r.code for r in requirements_for("148/QĐ-TTg", "new", "I")}


def test_documents_warn_before_they_lapse(app, tenants):
    from app.cycle.checklist import document_state

    producer_id, product_id = producer_with_product(app, tenants["bac-giang"], set_code="I.1.1")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        today = date(YEAR, 6, 1)
        soon = DocumentFactory(
            producer_id=producer_id,
            product_id=product_id,
            requirement="test_report",
            valid_until=today + timedelta(days=20),
        )
        later = DocumentFactory(
            producer_id=producer_id,
            product_id=product_id,
            requirement="test_report",
            valid_until=today + timedelta(days=90),
        )
        gone = DocumentFactory(
            producer_id=producer_id,
            product_id=product_id,
            requirement="test_report",
            valid_until=today - timedelta(days=1),
        )
        assert [document_state(d, today) for d in (soon, later, gone)] == ["expiring", "accepted", "expired"]
        db.session.rollback()


def test_applications_are_invisible_to_another_province(app, tenants, actors):
    with app.app_context():
        with tenant_scope(tenants["bac-giang"]):
            product = db.session.scalar(select(Product).where(Product.id == actors["product_id"]))
            services.application_start(
                cycle=_cycle(),
                product=product,
                kind="new",
                user=_user(actors["officer"]),
                today=IN_IDEAS,
                idea_summary="x",
            )
            db.session.commit()
        with tenant_scope(tenants["ha-tinh"]):
            assert (
                db.session.scalars(select(Application).where(Application.product_id == actors["product_id"])).all()
                == []
            )


def test_cycle_windows_and_rounds_come_from_the_province_file(app, tenants):
    from app.cycle.models import EvaluationRound

    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        before_reform = services.cycle_open(2022)
        rounds = db.session.scalars(
            select(EvaluationRound)
            .where(EvaluationRound.cycle_id == before_reform.id)
            .order_by(EvaluationRound.deadline)
        ).all()
        assert [(r.level, r.deadline) for r in rounds] == [
            ("district", date(2022, 7, 10)),
            ("province", date(2022, 7, 30)),
            ("district", date(2022, 10, 10)),
            ("province", date(2022, 10, 30)),
        ]
        assert (before_reform.ideas_from, before_reform.dossiers_until) == (date(2022, 2, 1), date(2022, 9, 30))
        # After 1/7/2025 there is no district level: only the province rounds remain.
        after_reform = services.cycle_open(2033)
        levels = db.session.scalars(select(EvaluationRound.level).where(EvaluationRound.cycle_id == after_reform.id))
        assert set(levels) == {"province"}
        with pytest.raises(services.WorkflowError, match="đã có"):
            services.cycle_open(2022)
        db.session.rollback()


def test_council_outcomes_are_never_a_button_and_never_applied_by_hand(app, tenants, actors):
    from tests.factories import application_at

    officer = User(roles=["province_officer"])
    offered = {t.action for t in workflow.allowed_actions("ready_for_council", officer)}
    assert offered == set()
    ids = application_at(app, tenants["bac-giang"], "ready_for_council")
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        application = db.session.scalar(select(Application).where(Application.id == ids.application_id))
        with pytest.raises(services.WorkflowError):
            _act(application, "council_recognise", actors["officer"], date.today())
        assert application.status == "ready_for_council"
        with pytest.raises(services.WorkflowError):  # the ministry answers only a proposal
            services.application_conclude(application.id, "ministry_answer", user=_user(actors["officer"]))
        services.application_conclude(application.id, "council_recognise", user=_user(actors["officer"]))
        services.application_conclude(application.id, "council_recognise", user=_user(actors["officer"]))  # no-op
        assert application.status == "recognised"
        assert [e.action for e in services.application_history(application)][-2:] == [
            "forward_to_council",
            "council_recognise",
        ]
