"""RQ cron schedule (`rq cron jobs/cron_config.py`): one process for the whole deployment.

The one file of jobs/ that imports features: each entry is a feature's fan-out job (app/<feature>/jobs.py).
"""

import os

from rq import cron

from app.auth.jobs import expire_invitations_everywhere
from app.documents.jobs import requeue_stalled_verifications
from app.exchange.jobs import requeue_stalled_imports_everywhere
from app.national.jobs import refresh_rollups
from app.progress.jobs import sync_entitlements_everywhere

PREFIX = os.environ.get("OCOP_ENV", "dev")

cron.register(expire_invitations_everywhere, f"{PREFIX}:default", cron="15 1 * * *")
# Verifications a dead worker or a lost job left behind are queued again (app/documents/jobs.py).
cron.register(requeue_stalled_verifications, f"{PREFIX}:documents", cron="*/5 * * * *")
# Excel imports whose job was lost run again (imports are atomic and idempotent).
cron.register(requeue_stalled_imports_everywhere, f"{PREFIX}:reports", cron="*/10 * * * *")
# The national office's roll-up (a materialized view): refreshed every minute, so a change shows within one.
cron.register(refresh_rollups, f"{PREFIX}:reports", cron="* * * * *")
# Rewards a new certificate earns under the province's policies (app/progress/rewards.py).
cron.register(sync_entitlements_everywhere, f"{PREFIX}:reports", cron="* * * * *")
