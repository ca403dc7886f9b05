"""Set-wise writes of a mapped table's rows, for the paths that write thousands at once (the Excel import).

Below the ORM: no flush, so no flush hook sees these rows. A caller writing tenant data goes through
app/audit/services.py (`audited_insert`, `audited_update`), which adds the audit entries the hook would have
written. Statements run on the session's connection, inside its open transaction (and savepoint).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, insert, update

from app.extensions import db

CHUNK = 1000  # rows per INSERT statement (parameters stay far below PostgreSQL's 65,535 per statement)


def column_defaults(model) -> dict:
    """The Python-side column defaults of a new row ({attribute: value}), as a flush would apply them; a callable
    default (a list, a random code) is called for each row."""
    values = {}
    for column in model.__table__.columns:
        default = column.default
        if default is None or column.server_default is not None or not hasattr(default, "arg"):
            continue
        values[column.key] = default.arg(None) if default.is_callable else default.arg
    return values


def insert_rows(model, rows: list[dict]) -> list[int]:
    """INSERT the rows (each a dict of column values, the same keys in every row), one multi-row statement per
    CHUNK; returns the new ids in the rows' order."""
    if not rows:
        return []
    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    connection = db.session.connection()
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        ids.extend(connection.execute(statement, rows[start : start + CHUNK]).scalars())
    return ids


def update_rows(model, tenant_id: int, changes: Iterable[tuple[int, dict]]) -> None:
    """UPDATE rows of one tenant by id ({attribute: new value} each); rows changing the same attributes go in one
    executemany."""
    table = model.__table__
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row_id, values in changes:
        params = {"_id": row_id, "_tenant": tenant_id, **{f"_v_{k}": v for k, v in values.items()}}
        groups.setdefault(tuple(sorted(values)), []).append(params)
    connection = db.session.connection()
    for attrs, params in groups.items():
        statement = (
            update(table)
            .where(table.c.tenant_id == bindparam("_tenant"), table.c.id == bindparam("_id"))
            .values({table.c[a]: bindparam(f"_v_{a}") for a in attrs})
        )
        connection.execute(statement, params)
