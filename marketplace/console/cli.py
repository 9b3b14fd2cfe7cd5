"""Command-line tools of the operator console: the same actions, named by an operator's email."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask.cli import AppGroup

from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.console import queries, services
from marketplace.console.queries import AuditLine
from marketplace.errors import AppError
from marketplace.extensions import db

cli = AppGroup("console", help="The operator console on the command line.")
T = TypeVar("T")
AS_OPERATOR = click.option(
    "--as",
    "operator_email",
    required=True,
    help="Email of the operator's owner or admin who acts (recorded in the audit log).",
)


def _run(action: Callable[[Actor], T], operator_email: str) -> T:
    """Run a console action as the named operator, turning refusals into a clean exit."""
    try:
        return action(services.operator_actor(db.session(), operator_email))
    except AppError as error:
        raise click.ClickException(error.detail) from None


@cli.command("suspend")
@click.argument("org_id", type=int)
@click.option("--reason", required=True, help="Why the organization is suspended (1–500).")
@AS_OPERATOR
def suspend_command(org_id: int, reason: str, operator_email: str) -> None:
    """Suspend an organization: its members can no longer act for it."""
    org = _run(
        lambda actor: services.suspend_organization(
            db.session(), current_clock(), actor, org_id, reason
        ),
        operator_email,
    )
    click.echo(f"Suspended {org.name!r} (id {org.id}).")


@cli.command("reactivate")
@click.argument("org_id", type=int)
@AS_OPERATOR
def reactivate_command(org_id: int, operator_email: str) -> None:
    """Let a suspended organization act again."""
    org = _run(
        lambda actor: services.reactivate_organization(
            db.session(), current_clock(), actor, org_id
        ),
        operator_email,
    )
    click.echo(f"Reactivated {org.name!r} (id {org.id}).")


@cli.command("audit")
@click.option("--action", default=None, help="Only entries of this action.")
@click.option("--org", "org_id", type=int, default=None, help="Only entries by or about this org.")
@AS_OPERATOR
def audit_command(action: str | None, org_id: int | None, operator_email: str) -> None:
    """Print the newest audit entries (50), Beijing time, with what changed."""
    log = _run(
        lambda actor: queries.audit_log(db.session(), actor, action=action, organization_id=org_id),
        operator_email,
    )
    for line in log.lines:
        click.echo(audit_text(line))


def audit_text(line: AuditLine) -> str:
    """Return one audit line as a line of text."""
    entry = line.entry
    who = line.actor_email or "system"
    diff = "; ".join(f"{c.key}: {_text(c.before)} -> {_text(c.after)}" for c in line.changes)
    when = line.when_local.strftime("%Y-%m-%d %H:%M:%S")
    return f"{when}  {who}  {entry.action}  {entry.target_type}#{entry.target_id}  {diff}".rstrip()


def _text(value: Any) -> str:
    return "-" if value is None else str(value)
