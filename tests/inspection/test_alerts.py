"""Overdue inspections and corrective actions are told to the inspector and the officers, each once
per due date, by the daily notices sweep."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.inspection.alerts import overdue_notices_sweep
from app.inspection.models import CorrectiveAction
from app.notices.models import Notice, NoticeRecipient
from tenants.context import tenant_scope
from tests.factories import certificate_recorded, inspection_planned, producer_with_product, user_of_role


def test_overdue_items_are_told_once_each(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    inspector_id, _ = user_of_role(app, tenant_id, "inspector")
    officer_id, _ = user_of_role(app, tenant_id, "province_officer")
    _producer, product_id = producer_with_product(app, tenant_id)
    certificate_id = certificate_recorded(app, tenant_id, product_id)
    today = clock.today()
    late = inspection_planned(
        app,
        tenant_id,
        certificate_id,
        window_start=today - timedelta(days=30),
        due_on=today - timedelta(days=3),
        inspector_id=inspector_id,
    )
    inspection_planned(app, tenant_id, certificate_id, due_on=today + timedelta(days=3))  # not yet due
    done = inspection_planned(app, tenant_id, certificate_id, status="done", visited_on=today, outcome="minor")
    with app.app_context(), tenant_scope(tenant_id):
        overdue_action = CorrectiveAction(
            inspection_id=done, description="Bổ sung nhãn", due_on=today - timedelta(days=1)
        )
        db.session.add_all(
            [
                overdue_action,
                CorrectiveAction(inspection_id=done, description="Sửa kho", due_on=today + timedelta(days=9)),
            ]
        )
        db.session.commit()
        action_id = overdue_action.id
        assert overdue_notices_sweep() == 2
        db.session.commit()
        assert overdue_notices_sweep() == 0  # the same items on the same due dates: nothing new
        db.session.commit()
        notices = db.session.scalars(select(Notice).order_by(Notice.kind)).all()
        assert [(n.kind, n.subject_key) for n in notices] == [
            ("corrective_action_overdue", f"corrective_action:{action_id}"),
            ("inspection_overdue", f"inspection:{late}"),
        ]
        assert notices[0].params["what"] == "Bổ sung nhãn"
        assert notices[1].params["due_on"] == (today - timedelta(days=3)).isoformat()
        recipients = {
            (r.notice_id, r.user_id) for r in db.session.scalars(select(NoticeRecipient)) if r.user_id is not None
        }
        assert recipients == {
            (notices[0].id, officer_id),
            (notices[1].id, officer_id),
            (notices[1].id, inspector_id),
        }
