"""`flask tenants …`: load the province files, list tenants, expire their kept pages."""

from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from tenants.context import Actor, acting_as
from tenants.models import Tenant
from tenants.page_versions import ALL, pages_expire
from tenants.sync import PROVINCES_DIR, sync_all


def register_tenants_cli(app: Flask) -> None:
    @app.cli.group("tenants")
    def tenants():
        """Provinces (tenants)."""

    @tenants.command("sync")
    @click.option("--force", is_flag=True, help="Compare every row even when a file is unchanged.")
    @click.option(
        "--directory",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        default=PROVINCES_DIR,
        help="Folder of the province files (default: tenants/provinces).",
    )
    def sync(force, directory):
        """Create or update every province from tenants/provinces/*.toml (a broken file fails alone)."""
        with acting_as(Actor("system", None, "tenants sync")):
            reports = sync_all(directory, force=force)
        for report in reports:
            if report.error:
                click.echo(f"{report.slug}: error: {report.error}", err=True)
            elif report.skipped:
                click.echo(f"{report.slug}: unchanged")
            else:
                state = "created" if report.created else "updated"
                details = ", ".join(f"{k} {v}" for k, v in sorted(report.changes.items())) or "no row changed"
                click.echo(f"{report.slug}: {state} ({details})")
        failed = [report.slug for report in reports if report.error]
        if failed:
            raise click.ClickException(f"{len(failed)} province file(s) not synced: {', '.join(failed)}")

    @tenants.command("list")
    def list_tenants():
        for tenant in db.session.scalars(select(Tenant).order_by(Tenant.slug)):
            click.echo(f"{tenant.id}\t{tenant.slug}\t{tenant.name}\t{'active' if tenant.is_active else 'inactive'}")

    @tenants.command("expire-pages")
    @click.argument("slug", required=False)
    def expire_pages(slug):
        """After changing data outside the app (psql, a restore): pages kept of SLUG (or of every province) are
        rendered anew. The app's own writes do this by themselves."""
        scope = ALL
        if slug:
            scope = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            if scope is None:
                raise click.ClickException(f"no province {slug!r}")
        pages_expire({scope})
        click.echo(f"pages expired: {slug or 'every province'}")
