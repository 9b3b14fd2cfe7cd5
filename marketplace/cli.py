"""Command-line tools: `flask db …` and the commands each part adds."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from marketplace import migrate
from marketplace.accounts.cli import cli as accounts_cli
from marketplace.console.cli import cli as console_cli
from marketplace.demo import demo_cli
from marketplace.firms.cli import cli as firms_cli
from marketplace.orgs.cli import cli as orgs_cli

db_cli = AppGroup("db", help="Schema migrations (Alembic).")


def _url() -> str:
    return str(current_app.config["SETTINGS"].database_url)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the database to a revision (default: the latest)."""
    migrate.upgrade(_url(), revision)


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the database to a revision ("base" empties it)."""
    migrate.downgrade(_url(), revision)


@db_cli.command("heads")
def db_heads() -> None:
    """Print the head revisions."""
    for head in migrate.heads(_url()):
        click.echo(head)


def register(app: Flask) -> None:
    """Add the command groups to the app."""
    for group in (db_cli, demo_cli, accounts_cli, orgs_cli, firms_cli, console_cli):
        app.cli.add_command(group)
