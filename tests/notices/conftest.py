from __future__ import annotations

import pytest
from rq import SimpleWorker

from jobs.queues import get_queue, redis_connection


@pytest.fixture()
def work_notifications(app):
    """Work the notifications queue in this process until it is empty (jobs whose retry is due later stay)."""

    def _work():
        with app.app_context():
            queue = get_queue("notifications")
            SimpleWorker([queue], connection=redis_connection()).work(burst=True)
            return queue

    return _work


@pytest.fixture()
def empty_notifications(app):
    with app.app_context():
        get_queue("notifications").empty()
    yield
    with app.app_context():
        get_queue("notifications").empty()
