"""Certificates' public code unique per province, so every key of a tenant table includes tenant_id.

Revision ID: 0018
Revises: 0017

A unique key without the distribution column cannot exist on a distributed table (Citus), and the
schema is kept distributable by tenant_id (tests/test_distributable.py). The code stays 128 random
bits, so a clash across provinces is vanishingly rare; /verify/<code> finds it by the plain index.
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint("uq_certificates_public_code", "certificates", type_="unique")
    op.create_unique_constraint(
        op.f("uq_certificates_tenant_id_public_code"), "certificates", ["tenant_id", "public_code"]
    )
    op.create_index("ix_certificates_public_code", "certificates", ["public_code"])


def downgrade():
    op.drop_index("ix_certificates_public_code", table_name="certificates")
    op.drop_constraint(op.f("uq_certificates_tenant_id_public_code"), "certificates", type_="unique")
    op.create_unique_constraint("uq_certificates_public_code", "certificates", ["public_code"])
