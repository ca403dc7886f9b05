"""RQ cron schedule (`rq cron jobs/cron_config.py`): one process for the whole deployment."""
import os

from rq import cron

from jobs.accounts import expire_invitations_everywhere

PREFIX = os.environ.get("OCOP_ENV", "dev")

cron.register(expire_invitations_everywhere, f"{PREFIX}:default", cron="15 1 * * *")
