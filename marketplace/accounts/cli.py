"""Command-line tools of the accounts part."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from marketplace.accounts import services
from marketplace.clock import current_clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db

cli = AppGroup("accounts", help="Commands of the accounts part.")


@cli.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="The name other people will see.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email: str, name: str, password_stdin: bool) -> None:
    """Create a user whose email address counts as confirmed."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_confirmed_user(
            db.session(), current_clock(), display_name=name, email=email, password=password
        )
    except ValidationFailed as error:
        raise click.UsageError(error.detail) from None
    click.echo(f"Created user {user.email} (id {user.id}).")


@cli.command("unlock")
@click.argument("email")
def unlock_command(email: str) -> None:
    """Forget an account's failed sign-ins so it can log in again at once."""
    services.forget_failed_logins(email)
    click.echo(f"Failed sign-ins of {email.strip().lower()} forgotten.")
