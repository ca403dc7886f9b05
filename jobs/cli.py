"""`flask jobs …`: run a named job now (operations and debugging). Each feature adds its own commands."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup


def jobs_cli(app: Flask) -> AppGroup:
    """The app's `flask jobs` group, made on first use; features add their commands to it."""
    group = app.cli.commands.get("jobs")
    if group is None:
        group = AppGroup("jobs", help="Background jobs.")
        app.cli.add_command(group)
    return group
