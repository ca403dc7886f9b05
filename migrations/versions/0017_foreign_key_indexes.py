"""Indexes under the foreign keys that had none on the tables that grow with the nation.

Revision ID: 0017
Revises: 0016

Deleting a parent row makes PostgreSQL look for its children (a cascade, or the check of a restricting
key) once per row; without an index that is a scan of the province's whole child table per row, so wiping a
generated province (`flask demo generate --replace`) took minutes per thousand applications. The same lookups
serve the pages: an application's history, a product's applications and documents, a document's uses, a
certificate's predecessor. Holds its own SQL.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_application_events_application": "application_events (tenant_id, application_id)",
    "ix_application_documents_document": "application_documents (tenant_id, document_id)",
    "ix_applications_product": "applications (tenant_id, product_id)",
    "ix_documents_product": "documents (tenant_id, product_id)",
    "ix_documents_producer": "documents (tenant_id, producer_id)",
    "ix_certificates_superseded_by": "certificates (tenant_id, superseded_by_id)",
}


def upgrade():
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade():
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
