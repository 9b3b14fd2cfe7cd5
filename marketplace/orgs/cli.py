"""Command-line tools of the orgs part."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.clock import current_clock
from marketplace.errors import AppError, ValidationFailed
from marketplace.extensions import db
from marketplace.orgs import services

cli = AppGroup("orgs", help="Organizations.")


@cli.command("create-operator")
@click.option("--name", required=True, help="Name of the operator organization.")
@click.option("--email", required=True, help="Email of the operator's first owner.")
@click.password_option(help="Password of the new owner (asked for when not given).")
def create_operator_command(name: str, email: str, password: str) -> None:
    """Create the marketplace's operator organization and its first owner (once per deployment)."""
    try:
        org = services.create_operator(
            db.session(), current_clock(), name=name, email=email, password=password
        )
    except ValidationFailed as error:
        raise click.UsageError(error.detail) from None
    except AppError as error:
        raise click.ClickException(error.detail) from None
    click.echo(f"Created operator organization {org.name!r} (id {org.id}) owned by {email}.")
