"""The province's own producer/product codes (import match keys) and the "as of" date of an import.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("producers", sa.Column("code", sa.String(length=64), nullable=True))
    op.add_column("products", sa.Column("code", sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f("uq_producers_tenant_id_code"), "producers", ["tenant_id", "code"])
    op.create_unique_constraint(op.f("uq_products_tenant_id_code"), "products", ["tenant_id", "code"])
    op.add_column("registry_imports", sa.Column("as_of", sa.Date(), nullable=True))


def downgrade():
    op.drop_column("registry_imports", "as_of")
    op.drop_constraint(op.f("uq_products_tenant_id_code"), "products", type_="unique")
    op.drop_constraint(op.f("uq_producers_tenant_id_code"), "producers", type_="unique")
    op.drop_column("products", "code")
    op.drop_column("producers", "code")
