"""Migrations: one head; upgrade → downgrade to base → upgrade on an empty database; models = schema.

Runs on a database of its own (`<OCOP_TEST_DB>_mig`), created empty here and dropped at the end.
Roles are cluster-wide and shared with other test databases: nothing here drops a role.
"""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from psycopg import sql
from sqlalchemy import create_engine, inspect

from app.config import sqlalchemy_url
from app.extensions import db
from tests.conftest import ROOT, TEST_DB

MIGRATIONS = ROOT / "migrations"
MIGRATION_DB = f"{TEST_DB}_mig"
# Created by raw SQL in 0002 and 0016: GIN indexes on the expression f_unaccent(name) with gin_trgm_ops, for
# diacritic-insensitive search. The models do not declare them (autogenerate cannot compare
# expression indexes), so they are the only difference allowed.
RAW_SQL_INDEXES = {
    "ix_producers_name_search",
    "ix_products_name_search",
    "ix_producers_representative_search",  # 0016
    "ix_producers_registration_no_search",  # 0016
}


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_there_is_exactly_one_head():
    assert len(_script().get_heads()) == 1


@pytest.fixture()
def empty_database(services, monkeypatch):
    from infra.database import bootstrap

    urls = bootstrap(services["ADMIN_DATABASE_URL"], MIGRATION_DB, recreate=True)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", urls["MIGRATION_DATABASE_URL"])  # what migrations/env.py uses
    yield urls
    with psycopg.connect(services["ADMIN_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(MIGRATION_DB)))


def _tables(url: str) -> set[str]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in RAW_SQL_INDEXES)


def _schema_diff(url: str) -> list:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _include})
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def test_upgrade_downgrade_to_base_and_upgrade_again_on_an_empty_database(app, empty_database):
    url = empty_database["MIGRATION_DATABASE_URL"]
    head = _script().get_current_head()
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        tables = _tables(url)
        assert tables == set(db.metadata.tables)
        downgrade(directory=str(MIGRATIONS), revision="base")
        assert _tables(url) == set()
        upgrade(directory=str(MIGRATIONS))
        assert _tables(url) == tables
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head
    finally:
        engine.dispose()


def test_the_models_match_the_migrated_schema(app, empty_database):
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        assert _schema_diff(empty_database["MIGRATION_DATABASE_URL"]) == []


def test_migrations_import_no_live_code():
    """A revision holds its own SQL and data: editing app/ or tenants/ must never change an old migration."""
    import ast

    allowed = {"alembic", "sqlalchemy", "os", "tomllib", "unicodedata", "pathlib"}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"


def test_0021_gives_the_provinces_already_there_a_data_version(app, empty_database):
    """So their dashboard counts are cached from the first view after the upgrade, not after their first change."""
    url = empty_database["MIGRATION_DATABASE_URL"]
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0018")
        with psycopg.connect(url, autocommit=True) as conn:
            for slug in ("old-a", "old-b"):
                conn.execute(
                    "INSERT INTO tenants (slug, name, name_en, standing_agency, criteria_act, is_active)"
                    " VALUES (%s, %s, %s, '', '1048/QĐ-TTg', true)",
                    [slug, slug, slug],
                )
        upgrade(directory=str(MIGRATIONS))
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE tenant_data_versions NO FORCE ROW LEVEL SECURITY")  # the owner, to count them all
        rows = conn.execute(
            "SELECT t.slug, v.scope FROM tenants t LEFT JOIN tenant_data_versions v ON v.tenant_id = t.id"
            " WHERE v.version IS NOT NULL ORDER BY t.slug, v.scope"
        ).fetchall()
        conn.rollback()
    assert rows == [("old-a", "counts"), ("old-a", "summary"), ("old-b", "counts"), ("old-b", "summary")]
