"""Inspection work services (app/inspection/work.py) on real PostgreSQL: queue, assignment (the
outside-the-commune rule), visit record, samples, corrective actions and overdue, revocation proposals,
the province's lists and the producer's view. Each test counts in a province of its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from app.auth.models import User
from app.certification.models import Certificate
from app.core import clock
from app.extensions import db
from app.inspection import work
from app.inspection.models import (
    Inspection,
    InspectionAnswer,
    InspectionAttachment,
    InspectionPolicy,
    LabResult,
    RevocationProposal,
)
from app.inspection.services import inspection_rules
from app.registry.models import Product
from tenants.context import tenant_scope
from tenants.models import AdminUnit
from tests import factories

TODAY = clock.today()


@dataclass
class World:
    tenant_id: int
    slug: str
    producer_id: int
    product_id: int
    certificate_id: int
    officer_id: int
    inspector_id: int
    commune_id: int


def make_world(app, tenant) -> World:
    tenant_id, slug = tenant
    producer_id, product_id = factories.producer_with_product(app, tenant_id, name="Mật ong bạc hà")
    with app.app_context(), tenant_scope(tenant_id):
        commune = AdminUnit(code=f"X{uuid.uuid4().hex[:6]}", name="Xã Thử", kind="commune")
        db.session.add(commune)
        db.session.flush()
        db.session.scalar(select(Product).where(Product.id == product_id)).unit_id = commune.id
        db.session.commit()
        commune_id = commune.id
    certificate_id = factories.certificate_recorded(app, tenant_id, product_id)
    officer_id, _ = factories.user_of_role(app, tenant_id, "province_officer")
    inspector_id, _ = factories.user_of_role(app, tenant_id, "inspector")
    return World(tenant_id, slug, producer_id, product_id, certificate_id, officer_id, inspector_id, commune_id)


@pytest.fixture()
def world(app, fresh_tenant):
    return make_world(app, fresh_tenant)


@pytest.fixture()
def scope(app, world):
    with app.app_context(), tenant_scope(world.tenant_id):
        yield
        db.session.rollback()


def _user(user_id) -> User:
    return db.session.scalar(select(User).where(User.id == user_id))


def _inspection(app, world, **fields) -> Inspection:
    inspection_id = factories.inspection_planned(app, world.tenant_id, world.certificate_id, **fields)
    return db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))


def _assigned(app, world, **fields) -> Inspection:
    values = {"status": "assigned", "inspector_id": world.inspector_id, "assigned_at": clock.now()} | fields
    return _inspection(app, world, **values)


def _answers(inspection, answer="yes") -> dict:
    return {item.code: (answer, "") for item in inspection_rules().checklist(inspection.kind)}


def test_queue_holds_my_assigned_inspections_soonest_first_overdue_marked(app, world, scope):
    late = _assigned(app, world, window_start=TODAY - timedelta(days=40), due_on=TODAY - timedelta(days=3))
    soon = _assigned(app, world, due_on=TODAY + timedelta(days=5))
    _assigned(app, world, status="done", visited_on=TODAY, outcome="pass")  # done: not in the queue
    _inspection(app, world)  # planned, nobody's
    other_id, _ = factories.user_of_role(app, world.tenant_id, "inspector")
    _inspection(app, world, status="assigned", inspector_id=other_id)
    rows = work.inspection_queue(_user(world.inspector_id), TODAY)
    assert [(r.inspection.id, r.overdue) for r in rows] == [(late.id, True), (soon.id, False)]
    assert rows[0].commune == "Xã Thử"


def test_assignment_respects_the_outside_commune_rule(app, world, scope):
    officer = _user(world.officer_id)
    inside_id, _ = factories.user_of_role(app, world.tenant_id, "inspector")
    _user(inside_id).unit_id = world.commune_id
    db.session.add(InspectionPolicy(rules={"outside_commune": True}, version=1, source="edited"))
    db.session.commit()
    inspection = _inspection(app, world)
    with pytest.raises(work.InspectionError, match="ngoài xã, phường"):
        work.inspection_assign(officer, inspection, inside_id, work.inspection_version(inspection))
    db.session.rollback()
    assert inspection.status == "planned" and inspection.inspector_id is None
    work.inspection_assign(officer, inspection, world.inspector_id, work.inspection_version(inspection))
    db.session.commit()
    assert (inspection.status, inspection.inspector_id) == ("assigned", world.inspector_id)
    assert [u.id for u in work.eligible_inspectors(inspection)].count(inside_id) == 0
    # An inspector cannot assign; an unknown id or a producer is refused with a message.
    with pytest.raises(work.InspectionError, match="Chỉ cán bộ tỉnh"):
        work.inspection_assign(_user(world.inspector_id), inspection, world.inspector_id)
    for bad in ("", "abc", "99999999999999999999", str(10**12)):
        with pytest.raises(work.InspectionError, match="Hãy chọn cán bộ kiểm tra"):
            work.inspection_assign(officer, inspection, bad)


def test_visit_record_answers_every_item_and_is_done_once(app, world, scope):
    inspection = _assigned(app, world)
    inspector = _user(world.inspector_id)
    version = work.inspection_version(inspection)
    items = inspection_rules().checklist("routine")
    partial = {items[0].code: ("no", "Nhãn thiếu hạn dùng")}
    # Without an outcome what was typed is kept; with one, every item must be answered.
    work.inspection_record_visit(
        inspector,
        inspection,
        visited_on=TODAY.strftime("%d/%m/%Y"),
        answers=partial,
        notes="Lần 1",
        outcome="",
        expected_version=version,
    )
    db.session.commit()
    assert inspection.status == "assigned"
    with pytest.raises(work.InspectionError, match="trả lời mọi mục"):
        work.inspection_record_visit(
            inspector,
            inspection,
            visited_on=TODAY.isoformat(),
            answers=partial,
            notes="",
            outcome="minor",
            expected_version=work.inspection_version(inspection),
        )
    db.session.rollback()
    # The page shown before the first save is stale now.
    with pytest.raises(work.InspectionChangedMeanwhile):
        work.inspection_record_visit(
            inspector,
            inspection,
            visited_on=TODAY.isoformat(),
            answers=_answers(inspection),
            notes="",
            outcome="pass",
            expected_version=version,
        )
    db.session.rollback()
    version = work.inspection_version(inspection)
    work.inspection_record_visit(
        inspector,
        inspection,
        visited_on=TODAY.isoformat(),
        answers=_answers(inspection, "yes") | partial,
        notes="Xong",
        outcome="minor",
        expected_version=version,
    )
    db.session.commit()
    assert (inspection.status, inspection.outcome, inspection.visited_on) == ("done", "minor", TODAY)
    answers = db.session.scalars(select(InspectionAnswer).where(InspectionAnswer.inspection_id == inspection.id)).all()
    assert len(answers) == len(items)
    assert sorted(a.answer for a in answers) == sorted(["no"] + ["yes"] * (len(items) - 1))
    # The same form sent again (replayed) changes nothing.
    with pytest.raises(work.InspectionError):
        work.inspection_record_visit(
            inspector,
            inspection,
            visited_on=TODAY.isoformat(),
            answers=_answers(inspection),
            notes="",
            outcome="pass",
            expected_version=version,
        )
    db.session.rollback()
    assert inspection.outcome == "minor"


@pytest.mark.parametrize(
    "visited_on, answers, notes, outcome, message",
    [
        ("32/01/2025", {}, "", "", "Ngày không hợp lệ"),
        ("01/01/1900", {}, "", "", "từ 01/01/2000"),
        ("01/01/99999", {}, "", "", "Ngày không hợp lệ"),
        ((TODAY + timedelta(days=1)).isoformat(), {}, "", "", "không được sau hôm nay"),
        ("", {}, "", "", "Bắt buộc"),
        ("\x00", {}, "", "", "NUL"),
        (TODAY.isoformat(), {}, "=HYPERLINK(1)", "", "công thức"),
        (TODAY.isoformat(), {}, "x\x00", "", "NUL"),
        (TODAY.isoformat(), {}, "x" * 10_001, "", "Dài quá"),
        (TODAY.isoformat(), {}, "", "excellent", "Kết quả không hợp lệ"),
        (TODAY.isoformat(), {"no_such_item": ("yes", "")}, "", "", "không có trong danh mục"),
    ],
)
def test_bad_visit_input_is_refused(app, world, scope, visited_on, answers, notes, outcome, message):
    inspection = _assigned(app, world)
    with pytest.raises(work.InspectionError, match=message):
        work.inspection_record_visit(
            _user(world.inspector_id), inspection, visited_on=visited_on, answers=answers, notes=notes, outcome=outcome
        )


def test_only_the_assigned_inspector_or_an_officer_records(app, world, scope):
    inspection = _assigned(app, world)
    stranger_id, _ = factories.user_of_role(app, world.tenant_id, "inspector")
    with pytest.raises(work.InspectionError, match="không được phân công cho bạn"):
        work.corrective_action_add(_user(stranger_id), inspection, description="Sửa nhãn", due_on="01/01/2099")
    work.corrective_action_add(_user(world.officer_id), inspection, description="Sửa nhãn", due_on="01/01/2099")


def test_corrective_actions_become_overdue_and_close_with_evidence(app, world, scope):
    inspection = _assigned(app, world)
    inspector, officer = _user(world.inspector_id), _user(world.officer_id)
    due = TODAY + timedelta(days=10)
    action = work.corrective_action_add(inspector, inspection, description="Bổ sung nhãn phụ", due_on=due.isoformat())
    second = work.corrective_action_add(
        inspector, inspection, description="Vệ sinh kho", due_on=TODAY + timedelta(days=30)
    )
    db.session.commit()
    with pytest.raises(work.InspectionError, match="trước ngày kiểm tra"):
        work.corrective_action_add(inspector, inspection, description="x", due_on=TODAY - timedelta(days=1))
    assert work.corrective_actions_overdue(due) == []
    later = due + timedelta(days=1)
    assert [r.action.id for r in work.corrective_actions_overdue(later)] == [action.id]
    with clock.frozen(later):
        assert [(a.kind, a.id) for a in work.overdue_alerts()] == [("corrective_action", action.id)]
    with clock.frozen(inspection.due_on + timedelta(days=1)):  # the inspection is late too by then
        alerts = work.overdue_alerts()
    assert [(a.kind, a.id) for a in alerts] == [
        ("inspection", inspection.id),
        ("corrective_action", action.id),
        ("corrective_action", second.id),
    ]
    # Closing needs evidence, and an officer.
    with pytest.raises(work.InspectionError, match="minh chứng"):
        work.corrective_action_close(officer, action, evidence_note="")
    with pytest.raises(work.InspectionError, match="Chỉ cán bộ tỉnh"):
        work.corrective_action_close(inspector, action, evidence_note="Đã dán nhãn")
    work.corrective_action_close(officer, action, evidence_note="Đã dán nhãn phụ, ảnh kèm theo")
    db.session.commit()
    assert action.status == "closed" and action.closed_at is not None
    assert work.corrective_actions_overdue(later) == []
    with pytest.raises(work.InspectionError, match="đã được đóng"):
        work.corrective_action_close(officer, action, evidence_note="Lần hai")


def test_samples_and_lab_results(app, world, scope):
    inspection = _assigned(app, world)
    inspector = _user(world.inspector_id)
    sample = work.sample_add(
        inspector,
        inspection,
        code="M-01",
        description="Mật ong 500 ml",
        taken_on=TODAY.isoformat(),
        lab_name="Trung tâm Kiểm nghiệm",
        sent_on=TODAY.isoformat(),
    )
    with pytest.raises(work.InspectionError, match="Mã mẫu này đã có"):
        work.sample_add(inspector, inspection, code="M-01", description="", taken_on=TODAY, lab_name="", sent_on="")
    work.lab_result_add(
        inspector, inspection, sample, parameter="HMF", value="< 40", unit="mg/kg", limit_text="40", passed="yes"
    )
    work.lab_result_add(
        inspector,
        inspection,
        sample,
        parameter="Chì",
        value="0,05",
        unit="mg/kg",
        limit_text="0,1",
        passed="yes",
        conclusion="pass",
        result_on=TODAY.isoformat(),
    )
    with pytest.raises(work.InspectionError, match="đã được ghi"):
        work.lab_result_add(
            inspector, inspection, sample, parameter="Chì", value="1", unit="", limit_text="", passed="no"
        )
    with pytest.raises(work.InspectionError, match="không hợp lệ"):
        work.lab_result_add(
            inspector, inspection, sample, parameter="As", value="1", unit="", limit_text="", passed="maybe"
        )
    db.session.commit()
    assert (sample.status, sample.conclusion) == ("resulted", "pass")
    assert db.session.scalar(select(func.count()).select_from(LabResult).where(LabResult.sample_id == sample.id)) == 2


def test_revocation_proposal_feeds_the_certificate_revocation(app, world, scope):
    inspector, officer = _user(world.inspector_id), _user(world.officer_id)
    inspection = _assigned(app, world)
    with pytest.raises(work.InspectionError, match="lỗi nghiêm trọng"):
        work.revocation_propose(inspector, inspection, grounds="food_safety", reason="Mẫu không đạt")
    work.inspection_record_visit(
        inspector,
        inspection,
        visited_on=TODAY.isoformat(),
        answers=_answers(inspection, "no"),
        notes="",
        outcome="major",
    )
    proposal = work.revocation_propose(inspector, inspection, grounds="food_safety", reason="Mẫu không đạt chì")
    db.session.commit()
    with pytest.raises(work.InspectionError, match="đang chờ quyết định"):
        work.revocation_propose(inspector, inspection, grounds="records", reason="Lần hai")
    db.session.rollback()
    with pytest.raises(work.InspectionError, match="Chỉ cán bộ tỉnh"):
        work.revocation_decide(inspector, proposal, accept=True, note="", decision_number="1/QĐ", decision_date=TODAY)
    with pytest.raises(work.InspectionError):
        work.revocation_decide(officer, proposal, accept=True, note="", decision_number="", decision_date=TODAY)
    db.session.rollback()
    work.revocation_decide(
        officer,
        proposal,
        accept=True,
        note="Theo biên bản",
        decision_number="15/QĐ-UBND",
        decision_date=TODAY.strftime("%d/%m/%Y"),
    )
    db.session.commit()
    certificate = db.session.scalar(select(Certificate).where(Certificate.id == world.certificate_id))
    assert (certificate.revoked_on, certificate.revoke_decision_number) == (TODAY, "15/QĐ-UBND")
    assert proposal.status == "accepted" and proposal.decided_by == officer.id
    open_count = select(func.count()).select_from(RevocationProposal).where(RevocationProposal.status == "proposed")
    assert db.session.scalar(open_count) == 0


def test_province_lists_filters_calendar_and_expiring(app, world, scope):
    other_id, _ = factories.user_of_role(app, world.tenant_id, "inspector")
    late = _assigned(app, world, window_start=TODAY - timedelta(days=60), due_on=TODAY - timedelta(days=1))
    _inspection(app, world, status="assigned", inspector_id=other_id, due_on=TODAY + timedelta(days=3))
    _inspection(app, world)
    _inspection(app, world, status="cancelled", cancel_reason="manual")
    count = lambda **f: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(work.inspections_query(work.InspectionFilters(**f), TODAY).subquery())
    )
    assert count() == 4
    assert count(status="assigned") == 2
    assert count(inspector_id=world.inspector_id) == 1
    assert count(commune_id=world.commune_id) == 4
    assert count(commune_id=10**12) == 0
    assert count(overdue=True) == 1
    assert [r.inspection.id for r in work.inspections_overdue(TODAY)] == [late.id]
    filters = work.inspection_filters({"status": "bogus", "inspector": "9" * 40, "commune": "-1", "month": "2025-13"})
    assert (filters.status, filters.inspector_id, filters.commune_id, filters.month) == (None, None, None, None)
    month = TODAY.replace(day=1)
    days = [d for week in work.inspections_calendar(month, work.InspectionFilters(), TODAY) for d in week]
    in_month = sum(len(rows) for day, inside, rows in days if inside)
    expected = db.session.scalar(
        select(func.count())
        .select_from(Inspection)
        .where(Inspection.due_on.between(month, (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)))
    )
    assert in_month == expected
    # Expiring: the certificate runs 36 months from 30 days ago; one more ending in 45 days.
    _p, product_id = factories.producer_with_product(app, world.tenant_id)
    factories.certificate_recorded(
        app, world.tenant_id, product_id, decision_date=TODAY - timedelta(days=100), valid_to=TODAY + timedelta(days=45)
    )
    assert [len(work.certificates_expiring(n, TODAY)) for n in (30, 60, 90)] == [0, 1, 1]
    assert work.certificates_expiring(60, TODAY)[0][3] == 45


def test_a_producer_sees_only_its_own(app, world, scope):
    upcoming = _inspection(app, world)
    done = _assigned(app, world, status="done", visited_on=TODAY, outcome="minor")
    work.corrective_action_add(_user(world.officer_id), done, description="Sửa nhãn", due_on=TODAY)
    db.session.commit()
    inspections, actions = work.producer_inspections(world.producer_id, TODAY)
    assert [r.inspection.id for r in inspections] == [upcoming.id]
    assert [r.action.description for r in actions] == ["Sửa nhãn"]
    own_id, _ = factories.user_of_role(app, world.tenant_id, "producer", producer_id=world.producer_id)
    assert work.inspection_get(_user(own_id), upcoming.id).id == upcoming.id
    other_producer, _product = factories.producer_with_product(app, world.tenant_id)
    stranger_id, _ = factories.user_of_role(app, world.tenant_id, "producer", producer_id=other_producer)
    with pytest.raises(NotFound):
        work.inspection_get(_user(stranger_id), upcoming.id)
    assert work.producer_inspections(other_producer, TODAY) == ([], [])


def test_attachment_links_a_presigned_document(app, world, scope):
    inspection = _assigned(app, world)
    data = {"requirement": "inspection_photo", "filename": "anh.jpg", "content_type": "image/jpeg", "size": 1000}
    document, post = work.attachment_presign(_user(world.inspector_id), inspection, data)
    db.session.commit()
    assert post["url"] and document.product_id == world.product_id and document.producer_id == world.producer_id
    rows = db.session.scalars(select(InspectionAttachment).where(InspectionAttachment.inspection_id == inspection.id))
    assert [(a.document_id, a.role) for a in rows] == [(document.id, "photo")]
    for bad in (
        {**data, "requirement": "test_report"},
        {**data, "size": 10**15},
        {**data, "content_type": "text/html"},
    ):
        with pytest.raises(work.InspectionError):
            work.attachment_presign(_user(world.inspector_id), inspection, bad)
        db.session.rollback()


def test_two_officers_assign_at_once_one_wins(app, world):
    from tests.race import at_once

    other_officer, _ = factories.user_of_role(app, world.tenant_id, "province_officer")
    second_inspector, _ = factories.user_of_role(app, world.tenant_id, "inspector")
    inspection_id = factories.inspection_planned(app, world.tenant_id, world.certificate_id)

    def read(attempt):
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))
        return work.inspection_version(inspection)

    def act(attempt, version):
        officer_id, inspector_id = attempt
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))
        work.inspection_assign(_user(officer_id), inspection, inspector_id, version)
        return "assigned"

    results = at_once(
        app,
        world.tenant_id,
        [(world.officer_id, world.inspector_id), (other_officer, second_inspector)],
        read,
        act,
        work.InspectionError,
    )
    assert results.count("assigned") == 1
    assert [r[0] for r in results if r != "assigned"] == ["InspectionChangedMeanwhile"]
    with app.app_context(), tenant_scope(world.tenant_id):
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))
        winner = results.index("assigned")
        assert inspection.inspector_id == [world.inspector_id, second_inspector][winner]


def test_two_inspectors_record_the_same_visit_at_once_one_outcome(app, world):
    from tests.race import at_once

    inspection_id = factories.inspection_planned(
        app, world.tenant_id, world.certificate_id, status="assigned", inspector_id=world.inspector_id
    )

    def read(attempt):
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))
        return work.inspection_version(inspection), _answers(inspection)

    def act(attempt, shown):
        version, answers = shown
        user_id = world.inspector_id if attempt == "pass" else world.officer_id
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))
        work.inspection_record_visit(
            _user(user_id),
            inspection,
            visited_on=TODAY,
            answers=answers,
            notes=attempt,
            outcome=attempt,
            expected_version=version,
        )
        return attempt

    results = at_once(app, world.tenant_id, ["pass", "major"], read, act, work.InspectionError)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, tuple)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0][0] == "InspectionChangedMeanwhile"
    with app.app_context(), tenant_scope(world.tenant_id):
        inspection = db.session.scalar(select(Inspection).where(Inspection.id == inspection_id))
        assert (inspection.status, inspection.outcome) == ("done", winners[0])
        answers = (
            select(func.count()).select_from(InspectionAnswer).where(InspectionAnswer.inspection_id == inspection_id)
        )
        assert db.session.scalar(answers) == len(inspection_rules().checklist("routine"))


def test_the_producer_answers_with_evidence_and_the_officer_closes_on_it(app, world, scope):
    from app.documents.models import Document

    inspection = _assigned(app, world)
    action = work.corrective_action_add(_user(world.inspector_id), inspection, description="Dán nhãn phụ", due_on=TODAY)
    db.session.commit()
    producer_id, _ = factories.user_of_role(app, world.tenant_id, "producer", producer_id=world.producer_id)
    data = {"filename": "nhan-phu.jpg", "content_type": "image/jpeg", "size": 2000}
    with pytest.raises(work.InspectionError, match="Chỉ chủ thể"):
        work.corrective_action_respond(_user(world.officer_id), action, data)
    document, _post = work.corrective_action_respond(_user(producer_id), action, data)
    db.session.commit()
    assert (action.evidence_document_id, document.requirement, document.producer_id) == (
        document.id,
        "corrective_evidence",
        world.producer_id,
    )
    officer = _user(world.officer_id)
    # Not verified yet: no evidence on its own.
    with pytest.raises(work.InspectionError, match="minh chứng"):
        work.corrective_action_close(officer, action, evidence_note="")
    db.session.rollback()
    db.session.scalar(select(Document).where(Document.id == document.id)).status = "accepted"
    db.session.commit()
    work.corrective_action_close(officer, action, evidence_note="")
    db.session.commit()
    assert (action.status, action.evidence_document_id) == ("closed", document.id)
    with pytest.raises(work.InspectionError, match="đã được đóng"):
        work.corrective_action_respond(_user(producer_id), action, data)
