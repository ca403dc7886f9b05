"""Indexes on the orders the big lists page by cursor (keyset), so a page reads its own rows only.

Revision ID: 0020
Revises: 0019

app/core/pagination.py pages a list ordered by a unique key with `WHERE (a, id) > (:a, :id) ORDER BY a,
id LIMIT n`. The product and producer lists have (tenant_id, name, id) since 0016; these give the same to
certificates (newest decision first), a cycle's applications (latest change first) and inspections (soonest
due first): read backwards or forwards from the cursor, no sort of the province's rows, and a plan that
does not depend on fresh statistics. Holds its own SQL.
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_certificates_decision": "certificates (tenant_id, decision_date, id)",
    "ix_applications_cycle_updated": "applications (tenant_id, cycle_id, updated_at, id)",
    "ix_inspections_due_on": "inspections (tenant_id, due_on, id)",
}


def upgrade():
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade():
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
