"""/healthz (liveness) and /readyz (readiness) on real services, and RQ jobs running inside their tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from app.auth.jobs import expire_invitations, expire_invitations_everywhere
from app.auth.models import User
from app.extensions import db
from jobs.queues import enqueue_after_commit, get_queue, redis_connection
from tenants.context import tenant_scope
from tenants.models import Tenant
from tests.conftest import unique_email


def test_healthz_is_liveness_only(app, monkeypatch):
    """It answers without touching any service, even when they are all down."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.config, "S3_BUCKET", "no-such-bucket-ocop")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_200_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok", "storage": "ok"}


def test_readyz_is_503_naming_the_service_down(app, monkeypatch):
    # Patch this app's settings rather than build another app: the rate limiter is process-wide.
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.config, "S3_BUCKET", "no-such-bucket-ocop")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "degraded", "database": "ok", "redis": "error", "storage": "error"}


def _invite_expired(app, tenant_id) -> int:
    from app.auth import services as auth

    with app.app_context(), tenant_scope(tenant_id):
        user, _token = auth.user_invite(email=unique_email("expired"), full_name="Hết hạn", roles=["inspector"])
        user.invite_expires_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()
        return user.id


def _run_queue(app, name="default"):
    """Work the queue in this process until empty; every job must have succeeded."""
    with app.app_context():
        queue = get_queue(name)
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        assert FailedJobRegistry(queue=queue).get_job_ids() == []
        return queue


def test_cron_fan_out_runs_one_job_per_tenant_inside_that_tenant(app, tenants):
    expired = {slug: _invite_expired(app, tenants[slug]) for slug in ("bac-giang", "ha-tinh")}
    with app.app_context():
        get_queue("default").empty()
        active = db.session.scalars(select(Tenant.id).where(Tenant.is_active.is_(True))).all()
        assert set(tenants.values()) <= set(active)  # the synced provinces, and those tests created
        assert expire_invitations_everywhere() == len(active)
        assert get_queue("default").count == len(active)
    _run_queue(app)
    with app.app_context():
        for slug, user_id in expired.items():
            with tenant_scope(tenants[slug]):
                user = db.session.scalar(select(User).where(User.id == user_id))
                assert user.invite_token_hash is None and user.invite_expires_at is None


def test_tenant_job_cannot_reach_another_tenant(app, tenants):
    ha_tinh_user = _invite_expired(app, tenants["ha-tinh"])
    with app.app_context():
        # Bắc Giang's job does not touch Hà Tĩnh's expired invitation.
        expire_invitations(tenants["bac-giang"])
        with tenant_scope(tenants["ha-tinh"]):
            assert db.session.scalar(select(User).where(User.id == ha_tinh_user)).invite_token_hash is not None


def test_jobs_are_enqueued_only_after_commit(app, tenants):
    with app.app_context():
        queue = get_queue("notifications")
        queue.empty()
        enqueue_after_commit("notifications", expire_invitations, tenants["nam-dinh"])
        assert queue.count == 0
        db.session.rollback()
        assert queue.count == 0
        enqueue_after_commit("notifications", expire_invitations, tenants["nam-dinh"], job_id="after-commit-test")
        db.session.commit()
        assert queue.count == 1 and queue.job_ids == ["after-commit-test"]
        queue.empty()


def test_deterministic_job_ids_make_the_fan_out_idempotent(app):
    with app.app_context():
        queue = get_queue("default")
        queue.empty()
        expire_invitations_everywhere()
        first = set(queue.job_ids)
        expire_invitations_everywhere()
        assert set(queue.job_ids) == first
        queue.empty()


def test_queues_are_prefixed_by_environment(app):
    with app.app_context():
        assert get_queue("reports").name == "test:reports"


def test_a_worker_can_serve_chosen_queues_only(monkeypatch):
    import pytest

    from jobs.worker import queues_to_serve

    monkeypatch.delenv("OCOP_QUEUES", raising=False)
    assert queues_to_serve([]) == ["default", "documents", "scheduling", "notifications", "reports"]
    assert queues_to_serve(["documents", "reports"]) == ["documents", "reports"]
    monkeypatch.setenv("OCOP_QUEUES", "scheduling notifications")
    assert queues_to_serve([]) == ["scheduling", "notifications"]
    with pytest.raises(SystemExit, match="unknown queue"):
        queues_to_serve(["documents", "evil"])
