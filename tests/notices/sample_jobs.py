"""Jobs for the jobs-page tests: one that always fails (counting its runs in Redis), one that works."""

from __future__ import annotations

from jobs.queues import redis_connection
from jobs.wrapper import tenant_job
from tenants.context import current_tenant_id

RUNS_KEY = "test:sample-job-runs:{}"


@tenant_job
def always_fails(tag: str) -> None:
    redis_connection().incr(RUNS_KEY.format(tag))
    raise RuntimeError(f"hỏng máy chủ ({tag}, tỉnh {current_tenant_id()})")


@tenant_job
def works(tag: str) -> str:
    return tag
