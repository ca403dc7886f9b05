"""Worker entry: `python -m jobs.worker` listens on every queue of this environment, with the scheduler."""

from __future__ import annotations

from rq import Worker

from jobs.queues import QUEUE_NAMES, get_queue, redis_connection
from jobs.wrapper import worker_app


def main() -> None:
    app = worker_app()
    with app.app_context():
        queues = [get_queue(name) for name in QUEUE_NAMES]
        Worker(queues, connection=redis_connection()).work(with_scheduler=True)


if __name__ == "__main__":
    main()
