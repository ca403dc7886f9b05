"""Issue 12, item 10: a producer asking for another producer's record runs exactly the statements a
missing id runs (one scoped query), so neither the answer nor its timing tells them apart."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db
from tests.factories import application_at, document_accepted, signed_in, user_of_role

MISSING = 2**62


@contextmanager
def _statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(re.sub(r"\s+", " ", statement))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_another_producers_ids_cost_what_missing_ids_cost(app, fresh_tenant):
    tenant_id, slug = fresh_tenant
    mine = application_at(app, tenant_id, "idea_submitted")
    theirs = application_at(app, tenant_id, "idea_submitted")
    their_document = document_accepted(app, tenant_id, theirs.producer_id, theirs.product_id)
    _user_id, email = user_of_role(app, tenant_id, "producer", producer_id=mine.producer_id)
    client = signed_in(app, slug, email)
    checked = 0
    for url in (
        f"/{slug}/applications/{{}}",
        f"/{slug}/products/{{}}",
        f"/{slug}/producers/{{}}",
        f"/{slug}/documents/{{}}",
    ):
        target = {
            "applications": theirs.application_id,
            "products": theirs.product_id,
            "producers": theirs.producer_id,
            "documents": their_document,
        }[url.split("/")[2]]
        client.get(url.format(MISSING))  # warm: the session's own queries are alike from here on
        with _statements(app) as missing:
            missing_status = client.get(url.format(MISSING)).status_code
        with _statements(app) as foreign:
            foreign_status = client.get(url.format(target)).status_code
        assert (missing_status, foreign_status) == (404, 404), url
        assert foreign == missing, url
        checked += 1
    assert checked == 4
    own = client.get(f"/{slug}/applications/{mine.application_id}")
    assert own.status_code == 200
