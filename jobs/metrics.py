"""Job metrics for Prometheus, read from Redis at scrape time (jobs run in other processes than the
web that is scraped): queued, running, failed and retry-scheduled jobs per queue, and how many jobs
each reconciler had to queue again (a number that should stay near zero)."""

from __future__ import annotations

from flask import Flask, current_app
from prometheus_client.core import GaugeMetricFamily
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from app.core.observability import REGISTRY
from jobs.queues import QUEUE_NAMES, get_queue, redis_connection


def _repairs_key() -> str:
    return f"{current_app.config['RQ_QUEUE_PREFIX']}:metrics:reconciler_repairs"


def count_repairs(reconciler: str, count: int) -> None:
    """A reconciler re-queued `count` jobs that were lost (called by the features' reconcilers)."""
    if count:
        redis_connection().hincrby(_repairs_key(), reconciler, count)


def jobs_snapshot() -> dict:
    queues = {}
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        queues[name] = {
            "queued": queue.count,
            "started": StartedJobRegistry(queue=queue).count,
            "failed": FailedJobRegistry(queue=queue).count,
            "scheduled": ScheduledJobRegistry(queue=queue).count,
        }
    repairs = {k.decode(): int(v) for k, v in redis_connection().hgetall(_repairs_key()).items()}
    return {"queues": queues, "repairs": repairs}


class _JobsCollector:
    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        with self.app.app_context():
            snapshot = jobs_snapshot()
        for name, help_text, key in (
            ("ocop_jobs_queued", "Jobs waiting per queue", "queued"),
            ("ocop_jobs_started", "Jobs running per queue", "started"),
            ("ocop_jobs_failed", "Jobs in the failed list per queue", "failed"),
            ("ocop_jobs_scheduled", "Jobs waiting for a retry per queue", "scheduled"),
        ):
            family = GaugeMetricFamily(name, help_text, labels=("queue",))
            for queue, counts in snapshot["queues"].items():
                family.add_metric((queue,), counts[key])
            yield family
        repairs = GaugeMetricFamily("ocop_reconciler_repairs", "Jobs re-queued by reconcilers", labels=("reconciler",))
        for reconciler, count in snapshot["repairs"].items():
            repairs.add_metric((reconciler,), count)
        yield repairs


def register_jobs_collector(app: Flask) -> None:
    """Once per process; the latest app serves the scrape (tests build several apps)."""
    collector = getattr(REGISTRY, "_ocop_jobs_collector", None)
    if collector is None:
        collector = _JobsCollector(app)
        REGISTRY.register(collector)
        REGISTRY._ocop_jobs_collector = collector
    collector.app = app
