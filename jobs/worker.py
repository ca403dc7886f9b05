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
        Worker([get_queue(name) for name in names], connection=redis_connection()).work(with_scheduler=True)


if __name__ == "__main__":
    main()
