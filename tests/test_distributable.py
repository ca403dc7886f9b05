"""The schema stays distributable by `tenant_id` (Citus: tenant tables distributed, shared tables as
reference tables): every primary key, unique key and foreign key between tenant tables includes
`tenant_id`, and no shared table points into a tenant table.

Read from the catalogue of the migrated test database, so a new table or constraint is checked the
day it lands.
"""

from __future__ import annotations

import psycopg
import pytest

# Every table of the public schema with its columns, and every PK/unique/FK constraint or unique index.
TABLES_SQL = """
SELECT c.relname,
       EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'
"""

CONSTRAINTS_SQL = """
SELECT con.conname, con.contype, src.relname,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) k JOIN pg_attribute a
             ON a.attrelid = con.conrelid AND a.attnum = k ORDER BY a.attname),
       dst.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) k JOIN pg_attribute a
             ON a.attrelid = con.confrelid AND a.attnum = k ORDER BY a.attname)
FROM pg_constraint con
JOIN pg_class src ON src.oid = con.conrelid
JOIN pg_namespace n ON n.oid = src.relnamespace
LEFT JOIN pg_class dst ON dst.oid = con.confrelid
WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f', 'x')
"""

UNIQUE_INDEXES_SQL = """
SELECT i.relname, t.relname,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a
             ON a.attrelid = t.oid AND a.attnum = k ORDER BY a.attname)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND x.indisunique
"""


@pytest.fixture(scope="module")
def catalogue(app, database_urls):
    with psycopg.connect(database_urls["MIGRATION_DATABASE_URL"]) as conn:
        tables = dict(conn.execute(TABLES_SQL).fetchall())
        constraints = conn.execute(CONSTRAINTS_SQL).fetchall()
        indexes = conn.execute(UNIQUE_INDEXES_SQL).fetchall()
    return tables, constraints, indexes


def test_there_are_tenant_and_shared_tables(catalogue):
    tables, _, _ = catalogue
    # The check below means something only if both kinds exist (tenant tables are most of the schema).
    assert sum(tables.values()) >= 20
    assert "tenants" in tables and not tables["tenants"]


def test_every_key_of_a_tenant_table_includes_tenant_id(catalogue):
    tables, constraints, indexes = catalogue
    # A unique constraint is also a unique index: both are read, so constraints and bare indexes count.
    bad = {
        f"{table}.{name} ({', '.join(columns)})"
        for name, kind, table, columns, _, _ in constraints
        if kind in ("p", "u", "x") and tables.get(table) and "tenant_id" not in columns
    }
    bad |= {
        f"{table}.{name} ({', '.join(columns)})"
        for name, table, columns in indexes
        if tables.get(table) and "tenant_id" not in columns
    }
    assert bad == set()


def test_foreign_keys_between_tenant_tables_include_tenant_id(catalogue):
    tables, constraints, _ = catalogue
    fks = [c for c in constraints if c[1] == "f"]
    between_tenant_tables = [c for c in fks if tables.get(c[2]) and tables.get(c[4])]
    assert between_tenant_tables, "no foreign key between tenant tables found: the query is wrong"
    bad = [
        f"{src}.{name} -> {dst}"
        for name, _, src, columns, dst, target in between_tenant_tables
        if "tenant_id" not in columns or "tenant_id" not in target
    ]
    assert bad == []


def test_no_shared_table_points_into_a_tenant_table(catalogue):
    tables, constraints, _ = catalogue
    bad = [
        f"{src}.{name} -> {dst}"
        for name, kind, src, _, dst, _ in constraints
        if kind == "f" and src in tables and not tables[src] and tables.get(dst)
    ]
    assert bad == []
