"""fan_out(): one job per active tenant, with ids made of the job's name, the tenant and the time slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from jobs.fanout import fan_out, time_slot
from jobs.queues import get_queue
from tenants.models import Tenant


def test_time_slots_start_where_the_schedule_ticks():
    moment = datetime(2026, 3, 1, 10, 37, 12, tzinfo=UTC)
    assert time_slot(timedelta(minutes=5), moment) == "20260301T1035"
    assert time_slot(timedelta(minutes=10), moment) == "20260301T1030"
    assert time_slot(timedelta(days=1), moment) == "2026-03-01"
    assert time_slot(timedelta(minutes=5), moment + timedelta(minutes=2, seconds=47)) == "20260301T1035"
    assert time_slot(timedelta(minutes=5), moment + timedelta(minutes=2, seconds=48)) == "20260301T1040"


def test_one_job_per_active_tenant_with_deterministic_ids(app):
    with app.app_context():
        queue = get_queue("scheduling")
        queue.empty()
        active = db.session.scalars(select(Tenant.id).where(Tenant.is_active.is_(True))).all()
        every = timedelta(hours=1)
        before = time_slot(every)
        count = fan_out("scheduling", "app.exchange.jobs.requeue_stalled_imports", name="test-fan-out", every=every)
        after = time_slot(every)  # the same slot, unless the hour turned during the call
        assert count == len(active)
        assert set(queue.job_ids) in [
            {f"test-fan-out-{tenant_id}-{slot}" for tenant_id in active} for slot in (before, after)
        ]
        assert {job.func_name for job in queue.jobs} == {"app.exchange.jobs.requeue_stalled_imports"}
        assert [job.args[0] for job in sorted(queue.jobs, key=lambda j: j.args[0])] == sorted(active)
        queue.empty()


def test_a_second_fan_out_in_the_same_slot_queues_nothing(app):
    with app.app_context():
        queue = get_queue("scheduling")
        queue.empty()
        every = timedelta(days=1)
        first = fan_out("scheduling", "app.exchange.jobs.requeue_stalled_imports", name="test-twice", every=every)
        fan_out("scheduling", "app.exchange.jobs.requeue_stalled_imports", name="test-twice", every=every)
        assert queue.count == first
        queue.empty()


def test_a_job_queued_after_commit_waits_for_the_outer_commit_not_a_savepoint(app):
    from jobs.queues import enqueue_after_commit

    with app.app_context():
        queue = get_queue("scheduling")
        queue.empty()
        db.session.rollback()
        enqueue_after_commit("scheduling", "app.exchange.jobs.requeue_stalled_imports", 1, job_id="test-savepoint")
        with db.session.begin_nested():
            db.session.execute(select(1))
        assert queue.job_ids == []  # the savepoint's release is not the commit
        db.session.commit()
        assert queue.job_ids == ["test-savepoint"]
        queue.empty()
