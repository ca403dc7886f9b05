"""RQ cron schedule (`rq cron jobs/cron_config.py`): one process for the whole deployment.

The one file of jobs/ that imports features: each entry is a feature's fan-out job (app/<feature>/jobs.py).
"""

import os

from rq import cron

from app.auth.jobs import expire_invitations_everywhere
from app.documents.jobs import requeue_stalled_verifications
from app.exchange.jobs import requeue_stalled_imports_everywhere
from app.inspection.jobs import schedule_inspections_everywhere

PREFIX = os.environ.get("OCOP_ENV", "dev")

cron.register(expire_invitations_everywhere, f"{PREFIX}:default", cron="15 1 * * *")
# Verifications a dead worker or a lost job left behind are queued again (app/documents/jobs.py).
cron.register(requeue_stalled_verifications, f"{PREFIX}:documents", cron="*/5 * * * *")
# Excel imports whose job was lost run again (imports are atomic and idempotent).
cron.register(requeue_stalled_imports_everywhere, f"{PREFIX}:reports", cron="*/10 * * * *")
# Every valid certificate has its next inspections, none twice; expired ones leave the plan (app/inspection/jobs.py).
cron.register(schedule_inspections_everywhere, f"{PREFIX}:scheduling", cron="*/30 * * * *")
