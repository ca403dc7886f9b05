"""gunicorn config for tests/ops/test_partial_write.py only: while the flag file exists, a commit first
flushes (the rows are written, not yet committed), says so, then waits — so a test can kill the worker
exactly between the writes and the commit."""

import os
import time


def post_worker_init(worker):
    from sqlalchemy.orm import Session

    original = Session.commit
    flag = os.environ["OCOP_SLOW_COMMIT_FLAG"]

    def commit(self):
        if os.path.exists(flag):
            self.flush()
            with open(f"{flag}.reached", "w") as f:
                f.write(str(os.getpid()))
            time.sleep(120)
        return original(self)

    Session.commit = commit
