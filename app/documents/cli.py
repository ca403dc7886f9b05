"""`flask documents …`: operations on evidence documents.

`flask documents backfill-verified [--province SLUG] [--queue]` gives documents accepted before verified
copies existed their verified copy (app/documents/jobs.py). By default it runs here, province by province,
printing a line per page and the counts; `--queue` hands it to the documents workers instead (one job per
province, deterministic ids for the hour, progress in the job's meta and the worker's log).
"""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from tenants.context import Actor, acting_as, tenant_scope
from tenants.models import Tenant


def _counts_line(counts: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in counts.items())


def register_documents_cli(app: Flask) -> None:
    if "documents" in app.cli.commands:
        return

    @app.cli.group("documents")
    def documents():
        """Evidence documents."""

    @documents.command("backfill-verified")
    @click.option("--province", "slug", help="Only this province (its slug); default: every active province.")
    @click.option("--queue", "queued", is_flag=True, help="Queue it on the documents workers instead of running here.")
    @click.option("--batch-size", type=click.IntRange(1, 1000), default=None, help="Documents per page.")
    def backfill_verified(slug: str | None, queued: bool, batch_size: int | None):
        """Copy accepted documents without a verified copy to their verified key (or ask for a re-upload)."""
        from app.documents.jobs import (
            BACKFILL_BATCH,
            backfill_verified_everywhere,
            backfill_verified_queue,
            documents_backfill_verified,
        )

        batch_size = batch_size or BACKFILL_BATCH
        query = select(Tenant.id, Tenant.slug).order_by(Tenant.id)
        query = query.where(Tenant.slug == slug) if slug else query.where(Tenant.is_active.is_(True))
        provinces = db.session.execute(query).all()
        db.session.commit()
        if slug and not provinces:
            raise click.ClickException(f"no province {slug!r}")

        if queued:
            if slug:
                job_id = backfill_verified_queue(provinces[0].id, batch_size)
                click.echo(f"{slug}: queued {job_id}" if job_id else f"{slug}: already queued within this hour")
            else:
                click.echo(f"queued for {backfill_verified_everywhere(batch_size)} provinces")
            return

        for tenant_id, tenant_slug in provinces:

            def progress(counts: dict, last_id: int, tenant_slug=tenant_slug) -> None:
                click.echo(f"{tenant_slug}: through id {last_id}: {_counts_line(counts)}")

            with tenant_scope(tenant_id), acting_as(Actor("system", None, "cli:documents backfill-verified")):
                counts, _ = documents_backfill_verified(batch_size=batch_size, progress=progress)
            click.echo(f"{tenant_slug}: done: {_counts_line(counts)}")
