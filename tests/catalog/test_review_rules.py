"""The review workflow's transition table and the diff of two versions."""

from __future__ import annotations

import pytest

from catalog.review_rules import (
    DELISTED,
    DRAFT,
    IN_REVIEW,
    PUBLISHED,
    REJECTED,
    IllegalTransition,
    ReviewAction,
    allowed_actions,
    field_changes,
    next_status,
    plan_changes,
)

LEGAL = [
    (DRAFT, ReviewAction.SUBMIT, IN_REVIEW),
    (IN_REVIEW, ReviewAction.APPROVE, PUBLISHED),
    (IN_REVIEW, ReviewAction.REJECT, REJECTED),
    (REJECTED, ReviewAction.EDIT, DRAFT),
    (PUBLISHED, ReviewAction.EDIT, PUBLISHED),
    (PUBLISHED, ReviewAction.SUBMIT, PUBLISHED),
    (PUBLISHED, ReviewAction.APPROVE, PUBLISHED),
    (PUBLISHED, ReviewAction.REJECT, PUBLISHED),
    (PUBLISHED, ReviewAction.DELIST, DELISTED),
    (DELISTED, ReviewAction.SUBMIT, IN_REVIEW),
]
ILLEGAL = [
    (DRAFT, ReviewAction.APPROVE),
    (DRAFT, ReviewAction.REJECT),
    (DRAFT, ReviewAction.DELIST),
    (IN_REVIEW, ReviewAction.EDIT),
    (IN_REVIEW, ReviewAction.SUBMIT),
    (IN_REVIEW, ReviewAction.DELIST),
    (REJECTED, ReviewAction.SUBMIT),
    (REJECTED, ReviewAction.APPROVE),
    (DELISTED, ReviewAction.DELIST),
    (DELISTED, ReviewAction.APPROVE),
]


@pytest.mark.parametrize(("status", "action", "after"), LEGAL)
def test_a_legal_action_moves_the_listing_to_the_tables_status(
    status: str, action: ReviewAction, after: str
) -> None:
    assert next_status(status, action) == after


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_an_illegal_action_is_refused_with_a_message_naming_the_status(
    status: str, action: ReviewAction
) -> None:
    with pytest.raises(IllegalTransition) as refused:
        next_status(status, action)

    assert status.replace("_", " ") in str(refused.value)
    assert refused.value.action == action


def test_a_listing_in_review_only_waits_for_the_operators_decision() -> None:
    assert allowed_actions(IN_REVIEW) == [ReviewAction.APPROVE, ReviewAction.REJECT]


def test_field_changes_list_only_the_fields_that_differ() -> None:
    changes = field_changes({"name": "A", "summary": "S"}, {"name": "B", "summary": "S"})

    assert [(c.field, c.before, c.after) for c in changes] == [("name", "A", "B")]


def test_without_a_published_version_every_filled_field_is_a_change() -> None:
    changes = field_changes(None, {"name": "A", "logo": None})

    assert [c.field for c in changes] == ["name"]


def test_plan_changes_tell_added_removed_and_changed_plans_apart() -> None:
    before = {"basic": {"price": 1}, "pro": {"price": 5}, "old": {"price": 9}}
    after = {"basic": {"price": 1}, "pro": {"price": 6}, "new": {"price": 2}}

    changes = {c.code: c for c in plan_changes(before, after)}

    assert set(changes) == {"pro", "old", "new"}
    assert changes["new"].change == "added"
    assert changes["old"].change == "removed"
    assert changes["pro"].change == "changed"
    assert [(f.field, f.before, f.after) for f in changes["pro"].fields] == [("price", 5, 6)]
