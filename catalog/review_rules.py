"""The review workflow as a table: which action moves a listing from which status to which.

A listing is first published through review: draft → in review → published, or rejected
with a reason; the vendor edits a rejected listing back into a draft. A published listing
stays on sale while an edited version of it is reviewed, and the operator's decision on
that version leaves the listing published. A published listing may be delisted by its
vendor or the operator; a delisted listing returns only through review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DRAFT = "draft"
IN_REVIEW = "in_review"
PUBLISHED = "published"
REJECTED = "rejected"
DELISTED = "delisted"


class ReviewAction(StrEnum):
    """What a vendor or the operator does to a listing."""

    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    DELIST = "delist"


# (listing status, action) -> listing status afterwards. A pair not in the table is refused.
TRANSITIONS: Mapping[tuple[str, ReviewAction], str] = {
    (DRAFT, ReviewAction.EDIT): DRAFT,
    (REJECTED, ReviewAction.EDIT): DRAFT,
    (PUBLISHED, ReviewAction.EDIT): PUBLISHED,
    (DELISTED, ReviewAction.EDIT): DELISTED,
    (DRAFT, ReviewAction.SUBMIT): IN_REVIEW,
    (PUBLISHED, ReviewAction.SUBMIT): PUBLISHED,
    (DELISTED, ReviewAction.SUBMIT): IN_REVIEW,
    (IN_REVIEW, ReviewAction.APPROVE): PUBLISHED,
    (PUBLISHED, ReviewAction.APPROVE): PUBLISHED,
    (IN_REVIEW, ReviewAction.REJECT): REJECTED,
    (PUBLISHED, ReviewAction.REJECT): PUBLISHED,
    (PUBLISHED, ReviewAction.DELIST): DELISTED,
}

REFUSALS: Mapping[ReviewAction, str] = {
    ReviewAction.EDIT: "A listing cannot be edited while it is %(status)s.",
    ReviewAction.SUBMIT: "A listing cannot be submitted for review while it is %(status)s.",
    ReviewAction.APPROVE: "A listing cannot be approved while it is %(status)s.",
    ReviewAction.REJECT: "A listing cannot be rejected while it is %(status)s.",
    ReviewAction.DELIST: "A listing cannot be delisted while it is %(status)s.",
}


class IllegalTransition(Exception):
    """An action the listing's status does not allow; carries a message template."""

    def __init__(self, status: str, action: ReviewAction) -> None:
        super().__init__(REFUSALS[action] % {"status": status.replace("_", " ")})
        self.status = status
        self.action = action


def next_status(status: str, action: ReviewAction) -> str:
    """Return the listing's status after action, or raise IllegalTransition."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


def allowed_actions(status: str) -> list[ReviewAction]:
    """Return the actions a listing in status allows, in the table's order."""
    return [action for (source, action) in TRANSITIONS if source == status]


@dataclass(frozen=True)
class FieldChange:
    """One field whose value differs between the published and the submitted version."""

    field: str
    before: Any
    after: Any


def field_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[FieldChange]:
    """List the fields of after that differ from before, in after's order (all when no before)."""
    old = before or {}
    return [FieldChange(k, old.get(k), v) for k, v in after.items() if old.get(k) != v]


@dataclass(frozen=True)
class PlanChange:
    """A plan added, removed or changed between two versions, by plan code."""

    code: str
    change: str  # "added", "removed" or "changed"
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    fields: tuple[FieldChange, ...] = ()


def plan_changes(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> list[PlanChange]:
    """Compare plans by code: which were added, removed, or changed in any term."""
    changes = []
    for code in sorted(set(before) | set(after)):
        old, new = before.get(code), after.get(code)
        if old is None:
            changes.append(PlanChange(code, "added", None, new))
        elif new is None:
            changes.append(PlanChange(code, "removed", old, None))
        elif old != new:
            changes.append(PlanChange(code, "changed", old, new, tuple(field_changes(old, new))))
    return changes
