"""`flask jobs …`: run a named job now (operations and debugging)."""

import click
from flask import Flask

from jobs.accounts import expire_invitations_everywhere


def register_jobs_cli(app: Flask) -> None:
    @app.cli.group("jobs")
    def jobs():
        """Background jobs."""

    @jobs.command("expire-invitations")
    def expire_invitations():
        """Fan out the invitation clean-up to every tenant's queue."""
        click.echo(f"enqueued for {expire_invitations_everywhere()} tenants")
