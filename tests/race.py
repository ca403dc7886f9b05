"""Two users acting at once, for real: each attempt in its own thread, app context, session and
PostgreSQL connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from app.extensions import db
from tenants.context import tenant_scope


def at_once(app, tenant_id: int, attempts: Sequence, read: Callable, act: Callable, errors: type[Exception]):
    """For each attempt: read(attempt) loads what the page showed (and ends that transaction); all meet at a
    barrier; then act(attempt, shown) runs, and the attempt that got the row lock holds it a moment before
    committing, so the other really waits on it. Returns per attempt what act returned, or
    (error class name, message) for a refusal of class `errors`."""
    barrier = threading.Barrier(len(attempts))
    results = [None] * len(attempts)

    def run(index, attempt):
        with app.app_context(), tenant_scope(tenant_id):
            shown = read(attempt)
            db.session.commit()
            barrier.wait(timeout=10)
            try:
                outcome = act(attempt, shown)
                db.session.flush()
                time.sleep(0.5)
                db.session.commit()
                results[index] = outcome
            except errors as error:
                db.session.rollback()
                results[index] = (type(error).__name__, str(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(r is not None for r in results), results
    return results
