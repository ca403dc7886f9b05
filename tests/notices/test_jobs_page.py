"""Province admins see their province's jobs (never another's): a failing job retries with backoff, lands in
the failed list with its error, and the page's retry queues it again."""

from __future__ import annotations

import uuid

import pytest
from rq import Retry, SimpleWorker

from jobs import registry
from jobs.queues import default_retry, enqueue_now, get_queue, redis_connection
from tests import factories
from tests.conftest import csrf_token
from tests.notices.sample_jobs import RUNS_KEY, always_fails, works

# The sample jobs run on the notifications queue: other tests expect nothing failed on theirs.
QUEUE = "notifications"


def _clean(app):
    with app.app_context():
        queue = get_queue(QUEUE)
        queue.empty()
        failed = registry.FailedJobRegistry(queue=queue)
        for job_id in failed.get_job_ids():
            failed.remove(job_id, delete_job=True)


@pytest.fixture()
def empty_default(app):
    _clean(app)
    yield
    _clean(app)


def _work(app):
    with app.app_context():
        SimpleWorker([get_queue(QUEUE)], connection=redis_connection()).work(burst=True)


def failed_job_of(app, tenant_id: int) -> str:
    """A job of the tenant in the failed list (after its one retry): its id."""
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        job = enqueue_now(QUEUE, always_fails, tenant_id, tag, retry=Retry(max=1))
    _work(app)
    return job.id


def test_jobs_retry_with_backoff_by_default(app):
    with app.app_context():
        job = enqueue_now(QUEUE, works, 1, "x")
        assert (job.retries_left, job.retry_intervals) == (3, [30, 120, 600])
        assert (job.result_ttl, job.failure_ttl) == (24 * 3600, 7 * 24 * 3600)
        assert enqueue_now(QUEUE, works, 1, "y", retry=None).retries_left is None
        get_queue(QUEUE).empty()
    assert default_retry().max == 3


def test_a_failing_job_is_retried_then_listed_failed_with_its_error_for_its_province_only(
    app, fresh_tenant, tenants, empty_default
):
    tenant_a, _slug = fresh_tenant
    tenant_b = tenants["ha-tinh"]
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        job = enqueue_now(QUEUE, always_fails, tenant_a, tag, retry=Retry(max=1))
    _work(app)
    with app.app_context():
        assert int(redis_connection().get(RUNS_KEY.format(tag))) == 2  # the first run and its retry
        [failed] = registry.tenant_jobs(tenant_a, ("failed",))
        assert (failed.id, failed.state, failed.func_name) == (
            job.id,
            "failed",
            "tests.notices.sample_jobs.always_fails",
        )
        assert failed.error == f"RuntimeError: hỏng máy chủ ({tag}, tỉnh {tenant_a})"
        assert job.id not in [v.id for v in registry.tenant_jobs(tenant_b)]
        assert registry.find_tenant_job(tenant_b, job.id) is None
        assert registry.tenant_job_retry(tenant_b, job.id) is False


def test_the_page_shows_the_provinces_failed_jobs_and_retries_them(app, fresh_tenant, tenants, empty_default):
    tenant_a, slug_a = fresh_tenant
    job_id = failed_job_of(app, tenant_a)
    _u, admin_a = factories.user_of_role(app, tenant_a, "province_admin")
    _u, admin_b = factories.user_of_role(app, tenants["ha-tinh"], "province_admin")
    client_a = factories.signed_in(app, slug_a, admin_a)
    client_b = factories.signed_in(app, "ha-tinh", admin_b)

    page = client_a.get(f"/{slug_a}/jobs/?state=failed").get_data(as_text=True)
    assert job_id in page and "hỏng máy chủ" in page and "Chạy lại" in page
    assert job_id not in client_b.get("/ha-tinh/jobs/?state=failed").get_data(as_text=True)
    assert job_id not in client_b.get("/ha-tinh/jobs/").get_data(as_text=True)

    # Another province's admin cannot retry it: the same 404 as a missing job.
    token_b = csrf_token(client_b, "/ha-tinh/account")
    foreign = client_b.post(f"/ha-tinh/jobs/{job_id}/retry", data={"csrf_token": token_b})
    missing = client_b.post("/ha-tinh/jobs/no-such-job/retry", data={"csrf_token": token_b})
    assert foreign.status_code == missing.status_code == 404

    token_a = csrf_token(client_a, f"/{slug_a}/account")
    response = client_a.post(f"/{slug_a}/jobs/{job_id}/retry", data={"csrf_token": token_a})
    assert response.status_code == 302
    with app.app_context():
        assert [v.state for v in registry.tenant_jobs(tenant_a) if v.id == job_id] == ["queued"]
        assert job_id in get_queue(QUEUE).get_job_ids()
    # Retried again it fails again (the job is broken): back in the failed list, never lost.
    _work(app)
    with app.app_context():
        assert [v.state for v in registry.tenant_jobs(tenant_a) if v.id == job_id] == ["failed"]


def test_only_province_admins_open_the_jobs_page(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _u, officer = factories.user_of_role(app, tenant_id, "province_officer")
    client = factories.signed_in(app, slug, officer)
    assert client.get(f"/{slug}/jobs/").status_code == 403
    assert client.get(f"/{slug}/notices/outbox").status_code == 403
    assert client.get(f"/{slug}/notices/").status_code == 200


def test_a_malformed_job_id_is_a_404(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    _u, admin = factories.user_of_role(app, tenant_id, "province_admin")
    client = factories.signed_in(app, slug, admin)
    token = csrf_token(client, f"/{slug}/account")
    for bad in ("a%00b", "x" * 300, "%3Dcmd"):
        assert client.post(f"/{slug}/jobs/{bad}/retry", data={"csrf_token": token}).status_code == 404
