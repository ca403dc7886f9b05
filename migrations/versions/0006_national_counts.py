"""National counts from the certificate records, on any date (never from the provinces' reported figures).

Revision ID: 0006
Revises: 0005

Views cannot take a date, so they hold aggregates the national page filters by date: certificates
grouped by tenant, stars and validity span (the last day in force is the earliest of expiry, the day
before revocation and the day before a newer certificate took over), and products grouped by the date
of their first recognition. No product or producer row reaches the national role. Holds its own SQL.
"""

import os

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NATIONAL_ROLE = os.environ.get("DB_NATIONAL_ROLE", "ocop_national")
ROLLUP_ROLE = os.environ.get("DB_ROLLUP_ROLE", "ocop_rollup")

CERTIFICATE_SPANS = """
SELECT c.tenant_id, c.stars, c.decision_date AS recognised_on, c.valid_from,
  LEAST(c.valid_to, c.revoked_on - 1, c.superseded_on - 1) AS valid_until,
  count(*) AS certificates
FROM public.certificates c
JOIN public.tenants t ON t.id = c.tenant_id AND t.is_active
GROUP BY 1, 2, 3, 4, 5
"""

FIRST_RECOGNITIONS = """
SELECT first.tenant_id, first.recognised_on, count(*) AS products
FROM (
  SELECT c.tenant_id, c.product_id, min(c.decision_date) AS recognised_on
  FROM public.certificates c GROUP BY 1, 2
) first
JOIN public.tenants t ON t.id = first.tenant_id AND t.is_active
GROUP BY 1, 2
"""

VIEWS = {"certificate_spans": CERTIFICATE_SPANS, "first_recognitions": FIRST_RECOGNITIONS}


def upgrade():
    op.execute(f"SET LOCAL ROLE {ROLLUP_ROLE}")
    for name, select in VIEWS.items():
        op.execute(f"CREATE OR REPLACE VIEW national.{name} AS {select}")
        op.execute(f"GRANT SELECT ON national.{name} TO {NATIONAL_ROLE}")
    op.execute("RESET ROLE")


def downgrade():
    op.execute(f"SET LOCAL ROLE {ROLLUP_ROLE}")
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS national.{name}")
    op.execute("RESET ROLE")
