"""Scoring, conflicts, spread and quorum, closing a round with certificates, producer view and review."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from app.auth.models import User
from app.certification.models import Certificate
from app.cycle.models import Application, ApplicationEvent
from app.evaluation import services
from app.evaluation.models import CouncilRound, RoundProduct
from app.evaluation.services import EvaluationError
from app.extensions import db
from app.registry.models import Product
from tenants.context import tenant_scope
from tests.evaluation.conftest import council_for
from tests.factories import producer_with_product, user_of_role


def _user(user_id):
    return db.session.scalar(select(User).where(User.id == user_id))


def _score(setup, user_id, share: D, *, conflicted=False, submit=True):
    """The member declares (no conflict unless told) and scores every criterion at `share` of its maximum."""
    council_round = services.round_get(_user(user_id), setup.round_id)
    item = services.round_product_get(council_round, setup.item_id)
    services.conflict_declare(_user(user_id), council_round, item, conflicted, "")
    if conflicted:
        return
    product = db.session.get(services.Product, (setup.tenant_id, setup.product_id))
    criteria = services.criteria_for(council_round.act, product)
    services.score_save(
        _user(user_id), council_round, item, {c.code: str((c.max * share).quantize(D("0.01"))) for c in criteria}
    )
    if submit:
        services.score_submit(_user(user_id), council_round, item)


def _status(setup):
    council_round = db.session.scalar(select(services.CouncilRound).where(services.CouncilRound.id == setup.round_id))
    council = services.council_get(council_round.council_id)
    item = services.round_product_get(council_round, setup.item_id)
    return services.item_status(council_round, council, item)


def _close(setup, number="12/QĐ-UBND", day=None):
    officer = db.session.scalar(select(User).where(User.email == setup.officer_email))
    council_round = services.round_get(officer, setup.round_id)
    return services.round_close(officer, council_round, number, day or date.today(), "UBND tỉnh")


def test_scores_within_maximum_and_declaration_first(app, setup):
    with app.app_context(), tenant_scope(setup.tenant_id):
        chair = _user(setup.members[0])
        council_round = services.round_get(chair, setup.round_id)
        item = services.round_product_get(council_round, setup.item_id)
        with pytest.raises(EvaluationError, match="xung đột"):
            services.score_save(chair, council_round, item, {"A1": "3"})
        services.conflict_declare(chair, council_round, item, False, "")
        for bad in ("5.01", "-1", "abc", "1e999", "NaN", "=1+1", "\x00"):
            with pytest.raises(EvaluationError):
                services.score_save(chair, council_round, item, {"A1": bad})
        with pytest.raises(EvaluationError):
            services.score_save(chair, council_round, item, {"Z9": "1"})
        sheet = services.score_save(chair, council_round, item, {"A1": "4,5"})
        sheet = services.score_save(chair, council_round, item, {"A2": "5"})  # saved as they go
        assert (sheet.points, sheet.total) == ({"A1": "4.5", "A2": "5"}, D("9.5"))
        with pytest.raises(EvaluationError, match="đủ"):
            services.score_submit(chair, council_round, item)


def test_spread_blocks_then_rescore_releases_and_close_certifies(app, setup):
    with app.app_context(), tenant_scope(setup.tenant_id):
        for user_id, share in zip(setup.members, (D("0.80"), D("0.78"), D("0.60"), D("0.79")), strict=True):
            _score(setup, user_id, share)
        status = _status(setup)
        assert (status.state, status.spread, len(status.counted)) == ("spread", D("20.00"), 4)
        db.session.commit()
        with pytest.raises(EvaluationError, match="1 sản phẩm"):
            _close(setup)
        db.session.rollback()
        chair = _user(setup.members[0])
        council_round = services.round_get(chair, setup.round_id)
        services.round_product_rescore(chair, council_round, services.round_product_get(council_round, setup.item_id))
        assert _status(setup).state == "scoring"
        for user_id, share in zip(setup.members, (D("0.80"), D("0.78"), D("0.76"), D("0.79")), strict=True):
            council_round = services.round_get(_user(user_id), setup.round_id)
            item = services.round_product_get(council_round, setup.item_id)
            product = db.session.get(services.Product, (setup.tenant_id, setup.product_id))
            criteria = services.criteria_for(council_round.act, product)
            services.score_save(
                _user(user_id),
                council_round,
                item,
                {c.code: str((c.max * share).quantize(D("0.01"))) for c in criteria},
            )
            services.score_submit(_user(user_id), council_round, item)
        status = _status(setup)
        assert (status.state, status.result.mean, status.result.stars) == ("ready", D("78.25"), 4)
        _close(setup, day=date.today())
        db.session.commit()
        item = db.session.scalar(select(RoundProduct).where(RoundProduct.id == setup.item_id))
        certificate = db.session.scalar(select(Certificate).where(Certificate.id == item.certificate_id))
        assert (item.outcome, item.stars, item.mean_score) == ("recognised", 4, D("78.25"))
        assert (certificate.stars, certificate.source, certificate.act) == (4, "council", "1489/QĐ-TTg")
        assert certificate.valid_from == date.today()
        assert certificate.valid_to == date.today() + relativedelta(months=36)  # decision date + 36 months
        assert len(certificate.public_code) == 32
        application = db.session.scalar(select(Application).where(Application.id == item.application_id))
        events = db.session.scalars(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == application.id)
            .order_by(ApplicationEvent.id)
        ).all()
        assert application.status == "recognised"
        assert (events[-1].action, events[-1].from_status, events[-1].to_status) == (
            "council_recognise",
            "ready_for_council",
            "recognised",
        )
        assert events[-1].note == "Quyết định số 12/QĐ-UBND"


def test_quorum_needs_the_chair_and_three_quarters(app, setup):
    with app.app_context(), tenant_scope(setup.tenant_id):
        for user_id in setup.members[1:]:  # everyone but the chair
            _score(setup, user_id, D("0.75"))
        assert _status(setup).state == "scoring"
        db.session.commit()
        with pytest.raises(EvaluationError):
            _close(setup)
        db.session.rollback()
        _score(setup, setup.members[0], D("0.75"))
        assert _status(setup).state == "ready"


def test_conflicted_member_score_is_excluded(app, setup):
    with app.app_context(), tenant_scope(setup.tenant_id):
        _score(setup, setup.members[0], D("0.80"))
        _score(setup, setup.members[1], D("0.80"))
        _score(setup, setup.members[2], D("0.80"))
        _score(setup, setup.members[3], D("0.30"), conflicted=True)
        council_round = services.round_get(_user(setup.members[3]), setup.round_id)
        item = services.round_product_get(council_round, setup.item_id)
        with pytest.raises(EvaluationError, match="xung đột"):
            services.score_save(_user(setup.members[3]), council_round, item, {"A1": "1"})
        status = _status(setup)
        assert (status.state, len(status.counted), len(status.excluded), status.result.mean) == (
            "ready",
            3,
            1,
            D("80.00"),
        )


def test_automatic_flag_for_own_commune_cannot_be_declared_away(app, setup):
    with app.app_context(), tenant_scope(setup.tenant_id):
        product = db.session.get(services.Product, (setup.tenant_id, setup.product_id))
        producer = db.session.get(services.Producer, (setup.tenant_id, product.producer_id))
        member = _user(setup.members[2])
        member.producer_id = producer.id
        db.session.flush()
        council_round = services.round_get(member, setup.round_id)
        item = services.round_product_get(council_round, setup.item_id)
        declaration = services.conflict_declare(member, council_round, item, False, "")
        assert (declaration.conflicted, declaration.flags) == (True, ["same_producer"])


def test_member_not_on_the_council_and_other_province_get_404(app, setup, tenants):
    other_member_id, _e = user_of_role(app, setup.tenant_id, "council_member")
    foreign_council, foreign_members, _emails = council_for(app, tenants["bac-giang"], scorers=1)
    with app.app_context(), tenant_scope(setup.tenant_id):
        with pytest.raises(NotFound):
            services.round_get(_user(other_member_id), setup.round_id)
        assert services.round_list(_user(other_member_id)) == []
        assert [r.id for r in services.round_list(_user(setup.members[0]))] == [setup.round_id]
    with app.app_context(), tenant_scope(tenants["bac-giang"]):
        with pytest.raises(NotFound):
            services.round_get(_user(foreign_members[0]), setup.round_id)


def test_failed_mandatory_gives_no_certificate_and_producer_sees_breakdown_and_may_ask_review(app, setup):
    with app.app_context(), tenant_scope(setup.tenant_id):
        for user_id in setup.members:
            council_round = services.round_get(_user(user_id), setup.round_id)
            item = services.round_product_get(council_round, setup.item_id)
            services.conflict_declare(_user(user_id), council_round, item, False, "")
            product = db.session.get(services.Product, (setup.tenant_id, setup.product_id))
            points = {c.code: str(c.max) for c in services.criteria_for(council_round.act, product)}
            points["C2"] = "0"
            services.score_save(_user(user_id), council_round, item, points)
            services.score_submit(_user(user_id), council_round, item)
        _close(setup)
        db.session.commit()
        item = db.session.scalar(select(RoundProduct).where(RoundProduct.id == setup.item_id))
        assert (item.outcome, item.stars, item.certificate_id, item.mean_score) == (
            "failed_mandatory",
            None,
            None,
            D("90.00"),
        )
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
        application = db.session.scalar(select(Application).where(Application.id == item.application_id))
        assert application.status == "not_recognised"
    producer_user_id, _e = user_of_role(app, setup.tenant_id, "producer", producer_id=setup.producer_id)
    with app.app_context(), tenant_scope(setup.tenant_id):
        producer = _user(producer_user_id)
        item, product, council_round = services.producer_result_get(producer, setup.item_id)
        breakdown = services.result_breakdown(council_round, item, product)
        assert [(p, mean, m) for p, mean, m in breakdown.parts] == [
            ("A", D("40"), 40),
            ("B", D("25"), 25),
            ("C", D("25"), 35),
        ]
        assert [c.code for c, _mean, met in breakdown.criteria if met is False] == ["C2"]
        request = services.review_request(producer, council_round, item, "Đề nghị chấm lại an toàn thực phẩm")
        with pytest.raises(EvaluationError):
            services.review_request(producer, council_round, item, "lần hai")
        with pytest.raises(EvaluationError):
            services.review_answer(_user(setup.members[1]), council_round, item, request.id, "confirmed", "Giữ nguyên")
        review = services.review_answer(
            _user(setup.members[0]), council_round, item, request.id, "confirmed", "Giữ nguyên"
        )
        assert review.outcome == "confirmed"
        db.session.commit()
    # A producer user of another producer sees nothing of it.
    other_producer_id, _product = producer_with_product(app, setup.tenant_id)
    other_id, _e = user_of_role(app, setup.tenant_id, "producer", producer_id=other_producer_id)
    with app.app_context(), tenant_scope(setup.tenant_id):
        with pytest.raises(NotFound):
            services.producer_result_get(_user(other_id), setup.item_id)


def test_review_period_is_enforced(app, setup):
    with app.app_context(), tenant_scope(setup.tenant_id):
        for user_id in setup.members:
            _score(setup, user_id, D("0.60"))
        _close(setup, day=date.today() - timedelta(days=1))
        council_round = db.session.scalar(
            select(services.CouncilRound).where(services.CouncilRound.id == setup.round_id)
        )
        council_round.decision_date = date.today() - timedelta(days=16)  # the council's period is 15 days
        item = db.session.scalar(select(RoundProduct).where(RoundProduct.id == setup.item_id))
        with pytest.raises(EvaluationError, match="hết thời hạn"):
            services.review_request(_user(setup.members[0]), council_round, item, "x")


def _rescore_after_review(setup, producer_user_id, share: D):
    """The producer asks for a review, the chair answers "rescore", every member scores the new attempt."""
    producer = _user(producer_user_id)
    item, _product, council_round = services.producer_result_get(producer, setup.item_id)
    attempt = item.attempt
    request = services.review_request(producer, council_round, item, "Xin chấm lại")
    services.review_answer(_user(setup.members[0]), council_round, item, request.id, "rescore", "Chấm lại")
    assert services.reopened(item) and item.attempt == attempt + 1
    assert _status(setup).state == "scoring"
    for user_id in setup.members:
        _score(setup, user_id, share)
    return council_round, item


def test_rescore_on_review_corrects_then_revokes_the_certificate(app, setup):
    producer_user_id, _e = user_of_role(app, setup.tenant_id, "producer", producer_id=setup.producer_id)
    with app.app_context(), tenant_scope(setup.tenant_id):
        for user_id in setup.members:
            _score(setup, user_id, D("0.72"))
        _close(setup, day=date.today() - timedelta(days=1))
        db.session.commit()
        item = db.session.scalar(select(RoundProduct).where(RoundProduct.id == setup.item_id))
        first_certificate = item.certificate_id
        assert (item.outcome, item.stars) == ("recognised", 4)
        council_round, item = _rescore_after_review(setup, producer_user_id, D("0.60"))
        officer = db.session.scalar(select(User).where(User.email == setup.officer_email))
        with pytest.raises(EvaluationError):
            services.review_result_record(officer, council_round, item, "\x00", date.today())
        services.review_result_record(officer, council_round, item, "20/QĐ-UBND", date.today())
        db.session.commit()
        certificate = db.session.scalar(select(Certificate).where(Certificate.id == first_certificate))
        application = db.session.scalar(select(Application).where(Application.id == item.application_id))
        assert (item.outcome, item.stars, item.mean_score) == ("recognised", 3, D("60.00"))
        assert (certificate.stars, certificate.score, certificate.revoked_on) == (3, D("60.00"), None)
        assert application.status == "recognised"
        assert not services.reopened(item)
        assert [r.outcome for r in services.review_requests(item)] == ["rescored"]
        assert services.item_status(council_round, services.council_get(setup.council_id), item).state == "decided"
        with pytest.raises(EvaluationError, match="không chờ"):
            services.review_result_record(officer, council_round, item, "21/QĐ-UBND", date.today())
        # A second review re-scores below every band: the certificate is revoked, the application not recognised.
        council_round, item = _rescore_after_review(setup, producer_user_id, D("0.40"))
        services.review_result_record(officer, council_round, item, "22/QĐ-UBND", date.today())
        db.session.commit()
        certificate = db.session.scalar(select(Certificate).where(Certificate.id == first_certificate))
        assert (item.outcome, item.stars, certificate.revoked_on) == ("not_recognised", None, date.today())
        assert certificate.revoke_decision_number == "22/QĐ-UBND"
        assert [r.outcome for r in services.review_requests(item)] == ["rescored", "rescored"]
        assert application.status == "not_recognised"
        history = [
            e.action
            for e in db.session.scalars(
                select(ApplicationEvent)
                .where(ApplicationEvent.application_id == application.id)
                .order_by(ApplicationEvent.id)
            )
        ]
        assert history[-2:] == ["council_recognise", "council_not_recognise"]
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1


def test_criteria_follow_the_products_group_then_the_provinces_imports(app, setup):
    """Shipped template of the product's group; a province table for all groups ('*') replaces it; a
    province table for the group replaces that."""
    from app.cycle.services import product_group
    from app.evaluation import rules

    with app.app_context(), tenant_scope(setup.tenant_id):
        officer = db.session.scalar(select(User).where(User.email == setup.officer_email))
        product = db.session.scalar(select(Product).where(Product.id == setup.product_id))
        act = db.session.scalar(select(CouncilRound.act).where(CouncilRound.id == setup.round_id))
        group = product_group(product)
        version = rules.rule_version(act)
        assert group in version.group_templates
        assert services.criteria_for(act, product) == version.group_templates[group] != version.template
        shipped = (rules.RULES_DIR / "criteria_148.toml").read_bytes()
        services.criteria_import(officer, act, "*", shipped.replace(b'name = "', 'name = "Tỉnh: '.encode(), 1))
        assert services.criteria_for(act, product) == version.template
        other = "V" if group != "V" else "IV"
        own = (rules.RULES_DIR / f"criteria_148_{other}.toml").read_bytes()
        services.criteria_import(officer, act, group, own)
        assert services.criteria_for(act, product) == version.group_templates[other]
        db.session.rollback()
