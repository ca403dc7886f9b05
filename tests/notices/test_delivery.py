"""Notices: one row per key, delivered exactly once (job twice, two workers at once), failures recorded
and retried, e-mail through a real SMTP server."""

from __future__ import annotations

import threading

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.extensions import db
from app.notices import services
from app.notices.jobs import deliver_notice, deliver_pending_notices
from app.notices.models import Notice, NoticeRecipient
from tenants.context import tenant_scope
from tests import factories
from tests.race import at_once


class Inbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture()
def smtp_server(app):
    import socket

    with socket.socket() as probe:  # a free port (aiosmtpd checks the port it was given)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USER")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS="none", SMTP_USER="")
    yield inbox
    app.config.update(saved)
    controller.stop()


def _create(app, tenant_id, *, key="certificate:1", occasion="90d", **recipients):
    with app.app_context(), tenant_scope(tenant_id):
        notice = services.notice_create(
            "certificate_expiry",
            key,
            occasion,
            params={
                "product": "Mật ong",
                "producer": "HTX Thử",
                "decision_number": "1/QĐ",
                "valid_to": "2027-03-05",
                "days_left": 90,
            },
            **recipients,
        )
        db.session.commit()
        return notice.id


def _notice(app, tenant_id, notice_id) -> Notice:
    with app.app_context(), tenant_scope(tenant_id):
        notice = db.session.get(Notice, (tenant_id, notice_id))
        db.session.expunge(notice)
        return notice


def test_the_same_notice_asked_twice_is_one_row_with_its_recipients_once(app, fresh_tenant, empty_notifications):
    tenant_id, _slug = fresh_tenant
    user_id, _email = factories.user_of_role(app, tenant_id, "province_officer")
    first = _create(app, tenant_id, user_ids=[user_id, user_id], emails=["lien.he@example.vn"])
    second = _create(app, tenant_id, user_ids=[user_id], emails=["khac@example.vn"])
    assert first == second
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 1
        assert db.session.scalar(select(func.count()).select_from(NoticeRecipient)) == 2
        from jobs.queues import get_queue

        assert get_queue("notifications").count == 1  # the second ask queued nothing


def test_a_notice_is_sent_once_when_its_job_runs_twice(app, fresh_tenant, smtp_server, empty_notifications):
    tenant_id, _slug = fresh_tenant
    user_id, email = factories.user_of_role(app, tenant_id, "province_officer")
    notice_id = _create(app, tenant_id, user_ids=[user_id], emails=["lien.he@example.vn"])
    with app.app_context():
        assert deliver_notice(tenant_id, notice_id) == "sent"
        assert deliver_notice(tenant_id, notice_id) == "skipped"
        assert deliver_pending_notices(tenant_id) == {"sent": 0, "skipped": 0, "failed": 0}
    assert sorted(to for tos, _body in smtp_server.messages for to in tos) == sorted([email, "lien.he@example.vn"])
    assert len(smtp_server.messages) == 2
    notice = _notice(app, tenant_id, notice_id)
    assert (notice.status, notice.attempts, notice.transport) == ("sent", 1, "smtp")
    assert "Message-ID: <notice-" in smtp_server.messages[0][1]


def test_two_workers_at_once_send_a_notice_once(app, fresh_tenant, smtp_server, empty_notifications):
    tenant_id, _slug = fresh_tenant
    notice_id = _create(app, tenant_id, emails=["lien.he@example.vn"])
    results = at_once(
        app,
        tenant_id,
        ("a", "b"),
        read=lambda _a: None,
        act=lambda _a, _s: services.notice_deliver(notice_id),
        errors=RuntimeError,
    )
    assert sorted(results) == ["sent", "skipped"]
    assert len(smtp_server.messages) == 1
    assert _notice(app, tenant_id, notice_id).attempts == 1


def test_outbox_without_smtp_records_what_would_have_been_sent(
    app, fresh_tenant, work_notifications, empty_notifications
):
    tenant_id, _slug = fresh_tenant
    notice_id = _create(app, tenant_id, emails=["lien.he@example.vn"])
    work_notifications()
    notice = _notice(app, tenant_id, notice_id)
    assert (notice.status, notice.transport, notice.attempts) == ("sent", "outbox", 1)
    with app.app_context(), tenant_scope(tenant_id):
        page = services.outbox_page(1)
        assert page.total == 1
        [(shown, addresses)] = page.items
        assert addresses == ["lien.he@example.vn"]
        assert "05/03/2027" in shown.subject and "Mật ong" in shown.body


def test_a_failure_is_recorded_and_the_job_retries_until_it_is_sent(
    app, fresh_tenant, smtp_server, empty_notifications
):
    tenant_id, _slug = fresh_tenant
    notice_id = _create(app, tenant_id, emails=["lien.he@example.vn"])
    port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = 1  # nobody listens there
    try:
        with app.app_context(), pytest.raises(OSError):
            deliver_notice(tenant_id, notice_id)
    finally:
        app.config["SMTP_PORT"] = port
    notice = _notice(app, tenant_id, notice_id)
    assert (notice.status, notice.attempts) == ("failed", 1)
    assert "ConnectionRefusedError" in notice.last_error
    with app.app_context():
        assert deliver_notice(tenant_id, notice_id) == "sent"  # the retry
        assert deliver_notice(tenant_id, notice_id) == "skipped"
    notice = _notice(app, tenant_id, notice_id)
    assert (notice.status, notice.attempts, notice.last_error) == ("sent", 2, None)
    assert len(smtp_server.messages) == 1


def test_recipients_are_only_users_of_the_province(app, fresh_tenant, tenants, empty_notifications):
    tenant_id, _slug = fresh_tenant
    foreign_user, _e = factories.user_of_role(app, tenants["ha-tinh"], "province_officer")
    with app.app_context(), tenant_scope(tenant_id):
        with pytest.raises(services.NoticeError):
            services.notice_create("certificate_expiry", "certificate:9", "90d", user_ids=[foreign_user])
        db.session.rollback()


@pytest.mark.parametrize(
    "kind,key,occasion,emails",
    [
        ("certificate_expiry", "a\x00b", "90d", ["x@example.vn"]),
        ("certificate_expiry", "k" * 201, "90d", ["x@example.vn"]),
        ("certificate_expiry", "k", "", ["x@example.vn"]),
        ("no_such_template", "k", "90d", ["x@example.vn"]),
        ("certificate_expiry", "k", "90d", ["=cmd|' /C calc'!A0"]),
        ("certificate_expiry", "k", "90d", []),
    ],
)
def test_bad_notices_are_refused_with_a_message(app, fresh_tenant, kind, key, occasion, emails):
    tenant_id, _slug = fresh_tenant
    with app.app_context(), tenant_scope(tenant_id):
        with pytest.raises(services.NoticeError) as refused:
            services.notice_create(kind, key, occasion, emails=emails)
        assert str(refused.value)
        db.session.rollback()


def test_two_creations_of_the_same_notice_at_once_make_one_row(app, fresh_tenant, empty_notifications):
    tenant_id, _slug = fresh_tenant

    def create(_attempt, _shown):
        notice = services.notice_create("certificate_expiry", "certificate:77", "60d", emails=["a@example.vn"])
        return notice.id

    first, second = at_once(app, tenant_id, ("a", "b"), read=lambda _a: None, act=create, errors=RuntimeError)
    assert first == second
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 1
        assert db.session.scalar(select(func.count()).select_from(NoticeRecipient)) == 1


def test_a_notice_whose_job_was_lost_is_sent_by_the_sweep_once(app, fresh_tenant, empty_notifications):
    """Redis flushed (or a worker killed) before the delivery ran: the province's sweep sends it, once."""
    from jobs.queues import get_queue

    tenant_id, _slug = fresh_tenant
    notice_id = _create(app, tenant_id, emails=["lien.he@example.vn"])
    with app.app_context():
        get_queue("notifications").empty()  # the job is gone
        assert deliver_pending_notices(tenant_id) == {"sent": 1, "skipped": 0, "failed": 0}
        assert deliver_pending_notices(tenant_id) == {"sent": 0, "skipped": 0, "failed": 0}
    assert _notice(app, tenant_id, notice_id).status == "sent"


def test_the_cron_fans_out_one_sweep_and_one_delivery_job_per_province_a_slot(app, tenants, empty_notifications):
    from app.notices.jobs import deliver_pending_notices_everywhere, run_daily_sweeps_everywhere
    from jobs.queues import get_queue

    with app.app_context():
        queue = get_queue("notifications")
        first = run_daily_sweeps_everywhere()
        assert first >= len(tenants)
        assert run_daily_sweeps_everywhere() == first
        assert deliver_pending_notices_everywhere() == first
        assert deliver_pending_notices_everywhere() == first
        assert queue.count == 2 * first  # the second run in the same slot queued nothing (not even the same id)
        assert len(set(queue.job_ids)) == 2 * first
