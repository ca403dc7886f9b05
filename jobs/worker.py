"""Worker entry: `python -m jobs.worker [QUEUE …]` listens on the named queues of this environment
(default: every queue), with the scheduler (retries with backoff wait in it).

One machine may run one worker per queue (documents, reports for imports, scheduling, notifications,
default), so a flood in one — a province importing 5,000 rows — never delays another's uploads.
Also settable as OCOP_QUEUES="documents reports".
"""

from __future__ import annotations

import os
import sys

from rq import Worker

from jobs.queues import QUEUE_NAMES, get_queue, redis_connection
from jobs.wrapper import worker_app

# A job whose worker died (SIGKILL, a lost machine) stays "started" until its heartbeat expires
# (job_monitoring_interval + 60 s), and is found by the next maintenance pass of any worker, which
# retries it when it has retries left. RQ's defaults (30 s, 10 min) leave it up to 11.5 minutes;
# these bring that under 2 minutes at the cost of one heartbeat every 10 s per running job. An idle
# worker waits on its queues for worker_ttl - 15 s between maintenance checks (RQ's default: 405 s), so
# worker_ttl is set from the maintenance interval too.
JOB_MONITORING_INTERVAL = 10
MAINTENANCE_INTERVAL = 30
WORKER_TTL = MAINTENANCE_INTERVAL + 15


def queues_to_serve(argv: list[str]) -> list[str]:
    names = argv or os.environ.get("OCOP_QUEUES", "").split() or list(QUEUE_NAMES)
    unknown = [name for name in names if name not in QUEUE_NAMES]
    if unknown:
        raise SystemExit(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(QUEUE_NAMES)}")
    return names


def main(argv: list[str] | None = None) -> None:
    names = queues_to_serve(sys.argv[1:] if argv is None else argv)
    app = worker_app()
    with app.app_context():
        worker = Worker(
            [get_queue(name) for name in names],
            connection=redis_connection(),
            job_monitoring_interval=JOB_MONITORING_INTERVAL,
            maintenance_interval=MAINTENANCE_INTERVAL,
            worker_ttl=WORKER_TTL,
        )
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main()
