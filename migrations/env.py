"""Alembic environment. Migrations run as the owner role (MIGRATION_DATABASE_URL), never as the
app role: the app role cannot create tables, and RLS policies and grants are part of migrations."""

import logging
import os
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine

from app.config import sqlalchemy_url

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)  # keep the app's request/security logs
logger = logging.getLogger("alembic.env")

target_metadata = current_app.extensions["migrate"].db.metadata


def migration_url() -> str:
    url = os.environ.get("MIGRATION_DATABASE_URL")
    if not url:
        raise RuntimeError("MIGRATION_DATABASE_URL (the owner role) is required to migrate")
    return sqlalchemy_url(url)


def run_migrations_offline():
    context.configure(url=migration_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(migration_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
