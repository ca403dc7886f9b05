"""RQ cron schedule (`rq cron jobs/cron_config.py`): one process for the whole deployment.

The one file of jobs/ that imports features: each entry is a feature's fan-out job (app/<feature>/jobs.py).
"""

import os

from rq import cron

from app.auth.jobs import expire_invitations_everywhere
from app.documents.jobs import requeue_stalled_verifications
from app.exchange.jobs import requeue_stalled_imports_everywhere
from app.inspection.jobs import schedule_inspections_everywhere
from app.national.jobs import refresh_rollups
from app.notices.jobs import deliver_pending_notices_everywhere, run_daily_sweeps_everywhere
from app.progress.jobs import sync_entitlements_everywhere

PREFIX = os.environ.get("OCOP_ENV", "dev")

cron.register(expire_invitations_everywhere, f"{PREFIX}:default", cron="15 1 * * *")
# Verifications a dead worker or a lost job left behind are queued again (app/documents/jobs.py).
cron.register(requeue_stalled_verifications, f"{PREFIX}:documents", cron="*/5 * * * *")
# Excel imports whose job was lost run again (imports are atomic and idempotent).
cron.register(requeue_stalled_imports_everywhere, f"{PREFIX}:reports", cron="*/10 * * * *")
# Notices: the daily sweeps (expiry reminders, overdue alerts; 07:00 in Vietnam), and delivery of what a
# lost job left pending (each notice is sent once: app/notices/services.py).
cron.register(run_daily_sweeps_everywhere, f"{PREFIX}:notifications", cron="0 0 * * *")
cron.register(deliver_pending_notices_everywhere, f"{PREFIX}:notifications", cron="*/5 * * * *")
# The national office's roll-up (a materialized view): refreshed every minute, so a change shows within one.
cron.register(refresh_rollups, f"{PREFIX}:reports", cron="* * * * *")
# Rewards a new certificate earns under the province's policies (app/progress/rewards.py).
cron.register(sync_entitlements_everywhere, f"{PREFIX}:reports", cron="* * * * *")
# Every valid certificate has its next inspections, none twice; expired ones leave the plan (app/inspection/jobs.py).
cron.register(schedule_inspections_everywhere, f"{PREFIX}:scheduling", cron="*/30 * * * *")
