"""Command-line tools of the sso part: the provider's signing keys."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup

from marketplace.clock import current_clock, local_time_text
from marketplace.extensions import db
from sso import signing_keys

cli = AppGroup("sso", help="Single sign-on: the provider's signing keys.")


@cli.command("rotate-keys")
@click.option(
    "--overlap-days",
    type=click.IntRange(min=1),
    default=signing_keys.DEFAULT_OVERLAP.days,
    show_default=True,
    help="Days the old key stays published so tokens it signed still verify.",
)
def rotate_keys_command(overlap_days: int) -> None:
    """Make a new signing key active; the old one keeps being published for the overlap."""
    rotation = signing_keys.rotate(db.session(), current_clock(), timedelta(days=overlap_days))
    click.echo(f"Active key: {rotation.active.kid}")
    for key in rotation.retiring:
        until = local_time_text(key.retire_after) if key.retire_after else "-"
        click.echo(f"Retiring key: {key.kid} (published until {until})")


@cli.command("keys")
def keys_command() -> None:
    """List the signing keys, newest first: kid, status, created."""
    for key in signing_keys.all_keys(db.session(), current_clock()):
        click.echo(f"{key.kid}\t{key.status}\t{local_time_text(key.created_at)}")
