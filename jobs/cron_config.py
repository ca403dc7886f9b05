"""RQ cron schedule (`rq cron jobs/cron_config.py`): one process for the whole deployment."""
import os

from rq import cron

from jobs.accounts import expire_invitations_everywhere
from jobs.documents import requeue_stalled_verifications

PREFIX = os.environ.get("OCOP_ENV", "dev")

cron.register(expire_invitations_everywhere, f"{PREFIX}:default", cron="15 1 * * *")
# Verifications a dead worker or a lost job left behind are queued again (jobs/documents.py).
cron.register(requeue_stalled_verifications, f"{PREFIX}:documents", cron="*/5 * * * *")
