"""The scheduling job on real Redis: queued after a certificate changes (once per transaction, never on
rollback), the same request twice is one job and one set of rows, the reconciler fans out per tenant."""

from __future__ import annotations

from rq import SimpleWorker
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from app.core import clock
from app.extensions import db
from app.inspection.jobs import schedule_inspections_everywhere
from app.inspection.models import Inspection
from app.inspection.services import SCHEDULE_JOB, inspection_schedule_enqueue, schedule_job_id
from app.registry.models import Product
from jobs.queues import enqueue_now, get_queue, redis_connection
from tenants.context import tenant_scope
from tests.factories import _short, certificate_recorded, producer_with_product


def _queue(app):
    with app.app_context():
        queue = get_queue("scheduling")
        queue.empty()
        for registry in (queue.failed_job_registry, queue.finished_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
        return queue


def _work(app):
    with app.app_context():
        queue = get_queue("scheduling")
        SimpleWorker([queue], connection=redis_connection()).work(burst=True)
        assert FailedJobRegistry(queue=queue).get_job_ids() == []


def _count(app, tenant_id):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.count()).select_from(Inspection))


def test_recording_certificates_queues_one_job_after_commit(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    products = [producer_with_product(app, tenant_id)[1] for _ in range(3)]
    queue = _queue(app)
    from app.certification.services import certificate_record

    with app.app_context(), tenant_scope(tenant_id):
        for product_id in products:  # three certificates in one transaction
            product = db.session.get(Product, (tenant_id, product_id))
            certificate_record(product, stars=3, decision_number=f"{_short()}/QĐ", decision_date=clock.today())
        assert queue.job_ids == []  # nothing before the commit
        db.session.commit()
    assert queue.job_ids == [schedule_job_id(tenant_id)]
    _work(app)
    assert _count(app, tenant_id) == 6  # a routine inspection and an expiry review each (handicraft defaults)


def test_a_rolled_back_certificate_queues_nothing(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    _producer, product_id = producer_with_product(app, tenant_id)
    queue = _queue(app)
    from app.certification.services import certificate_record

    with app.app_context(), tenant_scope(tenant_id):
        product = db.session.get(Product, (tenant_id, product_id))
        certificate_record(product, stars=3, decision_number="RB/QĐ", decision_date=clock.today())
        db.session.rollback()
        db.session.commit()
    assert queue.job_ids == []


def test_the_same_scheduling_request_enqueued_twice_is_one_job_and_one_row(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    _producer, product_id = producer_with_product(app, tenant_id)
    certificate_recorded(app, tenant_id, product_id, stars=3)
    queue = _queue(app)
    with app.app_context():
        inspection_schedule_enqueue(tenant_id)
        inspection_schedule_enqueue(tenant_id)
        assert queue.job_ids == [schedule_job_id(tenant_id)]
        # And when the transport delivers it twice anyway (another id, a replayed message): still one row each.
        enqueue_now("scheduling", SCHEDULE_JOB, tenant_id, job_id=f"replayed-{_short()}")
        assert queue.count == 2
    _work(app)
    assert _count(app, tenant_id) == 2
    with app.app_context(), tenant_scope(tenant_id):
        keys = db.session.execute(select(Inspection.kind, Inspection.period_key).order_by(Inspection.kind)).all()
    assert [tuple(k) for k in keys] == [("expiry_review", "expiry"), ("routine", "12m:1")]


def test_the_reconciler_plans_every_active_tenant(app, fresh_tenant):
    from tenants.models import Tenant

    tenant_id, _slug = fresh_tenant
    _producer, product_id = producer_with_product(app, tenant_id)
    certificate_recorded(app, tenant_id, product_id, stars=3)
    queue = _queue(app)  # the job the certificate queued is lost
    with app.app_context():
        active = db.session.scalar(select(func.count()).select_from(Tenant).where(Tenant.is_active.is_(True)))
        assert schedule_inspections_everywhere() == active
        assert queue.count == active
        assert schedule_inspections_everywhere() == active  # the same slot: no second job per tenant
        assert queue.count == active
    _work(app)
    assert _count(app, tenant_id) == 2


def test_a_job_already_running_gets_one_follower(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    queue = _queue(app)
    with app.app_context():
        job = inspection_schedule_enqueue(tenant_id)
        job.set_status("started")
        follower = inspection_schedule_enqueue(tenant_id)
        assert follower.id == f"{schedule_job_id(tenant_id)}-next"
        assert inspection_schedule_enqueue(tenant_id) is None
        assert sorted(queue.job_ids) == sorted([job.id, follower.id])
        queue.empty()


def test_jobs_retry_with_backoff(app, fresh_tenant):
    tenant_id, _slug = fresh_tenant
    _queue(app)
    with app.app_context():
        job = inspection_schedule_enqueue(tenant_id)
        assert (job.retries_left, job.retry_intervals) == (5, [5, 30, 120, 600, 1800])
        get_queue("scheduling").empty()
