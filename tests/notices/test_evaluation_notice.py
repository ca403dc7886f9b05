"""When a round's results are recorded, the producer is told (in-app and at its contact address), once."""

from __future__ import annotations

from decimal import Decimal as D

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.notices import services as notices
from app.notices.models import Notice, NoticeRecipient
from app.registry.models import Producer
from tenants.context import tenant_scope
from tests.evaluation.conftest import setup  # noqa: F401  (the fixture)
from tests.evaluation.test_services import _close, _score, _user
from tests.factories import user_of_role


def test_closing_a_round_tells_the_producer_once(app, setup, empty_notifications, work_notifications):  # noqa: F811
    producer_user, _email = user_of_role(app, setup.tenant_id, "producer", producer_id=setup.producer_id)
    with app.app_context(), tenant_scope(setup.tenant_id):
        db.session.get(Producer, (setup.tenant_id, setup.producer_id)).email = "htx@example.vn"
        for user_id in setup.members:
            _score(setup, user_id, D("0.80"))
        _close(setup)
        db.session.commit()
    work_notifications()
    with app.app_context(), tenant_scope(setup.tenant_id):
        [notice] = db.session.scalars(select(Notice)).all()
        assert (notice.kind, notice.subject_key, notice.template) == (
            "evaluation_result",
            f"round_product:{setup.item_id}",
            "evaluation_recognised",
        )
        assert (notice.status, notice.transport, notice.params["stars"], notice.params["score"]) == (
            "sent",
            "outbox",
            4,
            "80",
        )
        recipients = db.session.execute(select(NoticeRecipient.user_id, NoticeRecipient.email)).all()
        # Every account of the producer (the one that applied and the one added here) and its contact address.
        accounts = db.session.scalars(select(User.id).where(User.producer_id == setup.producer_id)).all()
        assert producer_user in accounts and len(accounts) == 2
        expected = [(user_id, None) for user_id in accounts] + [(None, "htx@example.vn")]
        assert sorted(recipients, key=str) == sorted(expected, key=str)
        user = _user(producer_user)
        assert notices.inbox_unread_count(user) == 1
        [shown] = notices.inbox_page(user, 1, locale="en").items
        assert shown.subject.startswith("OCOP evaluation result for ") and shown.subject.endswith(": recognised")
        assert notices.notice_mark_read(user, notice.id) == 1
        assert notices.notice_mark_read(user, notice.id) == 0
        assert notices.inbox_unread_count(user) == 0
