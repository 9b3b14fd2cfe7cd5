"""Demo data for `make run`: loaded only into an empty database."""

from __future__ import annotations

import click
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def load_command() -> None:
    """Load the demo data into an empty database and print the demo logins."""
    click.echo("no demo data yet")
