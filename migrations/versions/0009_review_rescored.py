"""A review answered "rescore" becomes "rescored" once the new attempt's result is recorded by a decision.

Revision ID: 0009
Revises: 0008

Holds its own SQL.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE review_requests DROP CONSTRAINT ck_review_requests_outcome")
    op.execute(
        "ALTER TABLE review_requests ADD CONSTRAINT ck_review_requests_outcome "
        "CHECK (outcome IS NULL OR outcome IN ('rescore', 'confirmed', 'rescored'))"
    )


def downgrade():
    op.execute("UPDATE review_requests SET outcome = 'rescore' WHERE outcome = 'rescored'")
    op.execute("ALTER TABLE review_requests DROP CONSTRAINT ck_review_requests_outcome")
    op.execute(
        "ALTER TABLE review_requests ADD CONSTRAINT ck_review_requests_outcome "
        "CHECK (outcome IS NULL OR outcome IN ('rescore', 'confirmed'))"
    )
