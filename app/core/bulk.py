"""Set-wise writes of a mapped table's rows, for the paths that write thousands at once (the Excel import).

Below the ORM: no flush, so no flush hook sees these rows. A caller writing tenant data goes through
app/audit/services.py (`audited_insert`, `audited_update`), which adds the audit entries the hook would have
written. Statements run on the session's connection, inside its open transaction (and savepoint); row-level
security checks every row as it would an ORM write.

One statement per table and call, whatever the number of rows: the rows travel as one JSON parameter that
`json_to_recordset` turns back into typed rows (PostgreSQL's input functions, as for any literal). The
statement's text stays small and the same for every call, where a multi-row VALUES list would be parsed anew
for each batch, and a JSON document is encoded in C (seconds for thousands of rows, otherwise).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, text
from sqlalchemy.dialects import postgresql

from app.extensions import db

DIALECT = postgresql.dialect()


def column_defaults(model) -> dict:
    """The Python-side column defaults of a new row ({attribute: value}), as a flush would apply them; a callable
    default (a list, a random code) is called for each row."""
    scalars, callables = _defaults(model)
    return {**scalars, **{key: make(None) for key, make in callables.items()}}


@functools.cache
def _defaults(model) -> tuple[dict, dict]:
    scalars, callables = {}, {}
    for column in model.__table__.columns:
        default = column.default
        if default is None or column.server_default is not None or not hasattr(default, "arg"):
            continue
        if default.is_callable:
            callables[column.key] = default.arg
        else:
            scalars[column.key] = default.arg
    return scalars, callables


def _encode(value):
    """What JSON has no type for, as PostgreSQL's input functions read it: numbers exactly, dates in ISO form."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not written set-wise")


@functools.cache
def _definition(column) -> str:
    if column.key != column.name:  # the rows' keys travel as they are: they must name the columns
        raise ValueError(f"{column.table.name}.{column.key} is column {column.name}")
    return f'"{column.name}" {column.type.compile(dialect=DIALECT)}'


def _value(column) -> str:
    """The column's value from the rows; a JSON column's None is JSON null unless the type says none_as_null (what
    SQLAlchemy writes for None), where json_to_recordset reads a JSON null as SQL NULL."""
    if isinstance(column.type, JSON) and not column.type.none_as_null:
        return f"COALESCE(u.\"{column.name}\", CAST('null' AS {column.type.compile(dialect=DIALECT)}))"
    return f'u."{column.name}"'


def _recordset(columns, rows: list[dict]) -> tuple[str, str]:
    """(FROM clause, its JSON parameter) of the rows, numbered in their order (u.n)."""
    definitions = ", ".join(_definition(c) for c in columns)
    names = ", ".join(f'"{c.name}"' for c in columns)
    return (
        f"ROWS FROM (json_to_recordset(CAST(:rows AS JSON)) AS ({definitions})) WITH ORDINALITY AS u({names}, n)",
        json.dumps(rows, ensure_ascii=False, default=_encode),
    )


def insert_rows(model, rows: list[dict], *, returning: bool = True, then: tuple[str, dict] | None = None) -> list[int]:
    """INSERT the rows (dicts of column values, the same keys in every row) in one statement; the new ids in the
    rows' order (identity values are drawn in the order the rows are inserted, which the ORDER BY fixes).

    `then`: (a statement reading the new rows, as stored, from `inserted`; its parameters), run within the same
    statement (a data-modifying WITH): the audit entries of the rows, for instance."""
    if not rows:
        return []
    table = model.__table__
    columns = [table.c[key] for key in rows[0]]
    source, data = _recordset(columns, rows)
    names = ", ".join(f'"{c.name}"' for c in columns)
    values = ", ".join(_value(c) for c in columns)
    statement = f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM {source} ORDER BY u.n'
    parameters = {"rows": data}
    if then is not None:
        follow, more = then
        statement = f"WITH inserted AS ({statement} RETURNING *), followed AS ({follow}) SELECT id FROM inserted"
        parameters |= more
    elif returning:
        statement += " RETURNING id"
    result = db.session.connection().execute(text(statement), parameters)
    return sorted(result.scalars()) if returning or then is not None else []


def update_rows(model, tenant_id: int, changes: Iterable[tuple[int, dict]]) -> None:
    """UPDATE rows of one tenant by id ({attribute: new value} each): one statement per set of attributes changed.
    A row changed twice in the same attributes gets a second statement, after the first."""
    table = model.__table__
    groups: list[tuple[tuple[str, ...], dict[int, dict]]] = []
    last: dict[int, int] = {}  # row id → the index of the last group changing it
    for row_id, values in changes:
        attrs = tuple(sorted(values))
        # The last group of these attributes, if it comes after every earlier change of this row.
        index = next((i for i in range(len(groups) - 1, last.get(row_id, -1), -1) if groups[i][0] == attrs), None)
        if index is None:
            groups.append((attrs, {}))
            index = len(groups) - 1
        groups[index][1][row_id] = values
        last[row_id] = index
    for attrs, by_id in groups:
        columns = [table.c.id, *(table.c[a] for a in attrs)]
        source, data = _recordset(columns, [{"id": row_id, **values} for row_id, values in by_id.items()])
        sets = ", ".join(f'"{c.name}" = {_value(c)}' for c in columns[1:])
        statement = f'UPDATE "{table.name}" AS t SET {sets} FROM {source} WHERE t.tenant_id = :tenant AND t.id = u.id'
        db.session.connection().execute(text(statement), {"tenant": tenant_id, "rows": data})
