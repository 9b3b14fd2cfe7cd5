"""Command-line tools of the firms part."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.errors import AppError
from marketplace.extensions import db
from marketplace.firms.services import load_size_standard

cli = AppGroup("firms", help="Commands of the firms part.")


@cli.command("load-standard")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_standard_command(path: Path) -> None:
    """Load a revised SME size standard from a JSON file (same shape as the 2011 one)."""
    try:
        text = path.read_text(encoding="utf-8")
        standard = load_size_standard(db.session(), current_clock(), Actor(user_id=None), text)
    except (AppError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path}: {error}") from error
    until = standard.valid_to.isoformat() if standard.valid_to else "further notice"
    click.echo(
        f"Loaded {standard.id} ({standard.name}), in force from "
        f"{standard.valid_from.isoformat()} until {until}."
    )
