"""The keys an import checks most may wait for the end of the import: DEFERRABLE, still INITIALLY IMMEDIATE.

Revision ID: 0022
Revises: 0021

The import writes 500 rows per SAVEPOINT. A foreign key checked inside a subtransaction, on rows the same
transaction wrote in earlier subtransactions, cost PostgreSQL more with every batch: a certificate's check of
its product took 0.24 ms per row in the first batch and 0.7 ms in the tenth (auto_explain: 118 → 354 ms per
500 rows), half of the import's time. The import defers these two checks (SET CONSTRAINTS … DEFERRED) and
runs them once its batches are done (… IMMEDIATE), outside any subtransaction; every other writer still has
them checked at once. Holds its own SQL.
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

KEYS = {
    "certificates": "fk_certificates_tenant_id_product_id_products",
    "products": "fk_products_tenant_id_producer_id_producers",
}


def upgrade():
    for table, name in KEYS.items():
        op.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {name} DEFERRABLE INITIALLY IMMEDIATE")


def downgrade():
    for table, name in KEYS.items():
        op.execute(f"ALTER TABLE {table} ALTER CONSTRAINT {name} NOT DEFERRABLE")
