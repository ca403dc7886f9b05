"""RQ cron schedule (`rq cron jobs/cron_config.py`): one process for the whole deployment."""

import os

from rq import cron

from jobs.accounts import expire_invitations_everywhere
from jobs.documents import requeue_stalled_verifications
from jobs.registry import requeue_stalled_imports_everywhere

PREFIX = os.environ.get("OCOP_ENV", "dev")

cron.register(expire_invitations_everywhere, f"{PREFIX}:default", cron="15 1 * * *")
# Verifications a dead worker or a lost job left behind are queued again (jobs/documents.py).
cron.register(requeue_stalled_verifications, f"{PREFIX}:documents", cron="*/5 * * * *")
# Excel imports whose job was lost run again (imports are atomic and idempotent).
cron.register(requeue_stalled_imports_everywhere, f"{PREFIX}:reports", cron="*/10 * * * *")
