"""Write and read the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.audit.models import AuditEntry
from marketplace.clock import Clock


@dataclass(frozen=True)
class Actor:
    """Who acts: the user, the organization they act for, and where from."""

    user_id: int | None
    org_id: int | None = None
    ip_address: str | None = None


def record(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    target: tuple[str, object],
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    subject_org_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry to the session; it commits with the change it describes."""
    target_type, target_id = target
    entry = AuditEntry(
        created_at=clock.now(),
        actor_user_id=actor.user_id,
        actor_org_id=actor.org_id,
        subject_org_id=subject_org_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=_jsonable(before),
        after=_jsonable(after),
        ip_address=actor.ip_address,
    )
    session.add(entry)
    return entry


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def snapshot(row: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """Copy the named attributes of a row, for an entry's before or after."""
    return {name: _plain(getattr(row, name)) for name in fields}


@dataclass(frozen=True)
class Change:
    """One key of an entry whose value differs between before and after."""

    key: str
    before: Any
    after: Any


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[Change]:
    """List only the keys an entry changed, in a stable order."""
    old, new = before or {}, after or {}
    keys = sorted(set(old) | set(new))
    return [Change(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def trail(
    session: Session,
    *,
    action: str | None = None,
    org_id: int | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Return the newest entries by or about an organization or a user, for the operator."""
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if org_id is not None:
        stmt = stmt.where(
            sa.or_(AuditEntry.subject_org_id == org_id, AuditEntry.actor_org_id == org_id)
        )
    if user_id is not None:
        about_user = sa.and_(AuditEntry.target_type == "user", AuditEntry.target_id == str(user_id))
        stmt = stmt.where(sa.or_(AuditEntry.actor_user_id == user_id, about_user))
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(session.scalars(stmt))


def recorded_actions(session: Session) -> list[str]:
    """Return every action the log holds, for a filter's choices."""
    stmt = sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    return list(session.scalars(stmt))
