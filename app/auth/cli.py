"""`flask accounts create`: national and platform accounts are created by an operator, as the database
owner (the web role may not write accounts, migration 0019)."""

from __future__ import annotations

import click

from app.auth import services
from app.auth.roles import GLOBAL_ROLES


def register_accounts_cli(app) -> None:
    @app.cli.group("accounts")
    def accounts():
        """National and platform accounts."""

    @accounts.command("create")
    @click.argument("email")
    @click.option("--name", "full_name", required=True, help="Full name shown in the app.")
    @click.option("--role", type=click.Choice(GLOBAL_ROLES), required=True)
    @click.password_option(help="Asked for (twice) when not given.")
    @click.option(
        "--owner-url",
        envvar="MIGRATION_DATABASE_URL",
        required=True,
        help="The database owner's connection (default: MIGRATION_DATABASE_URL).",
    )
    def create(email, full_name, role, password, owner_url):
        """Create an account (its password must pass the same rules as in the app)."""
        try:
            account = services.account_create(
                email=email, full_name=full_name, role=role, password=password, owner_url=owner_url
            )
        except services.AuthError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"account {account.id} {account.email} ({account.role})")
