"""The subscription state machine: which move leads from which status to which.

Pure: the subscription services look a move up here before they change anything, so an
illegal move raises before a row is touched.
"""

from __future__ import annotations

from enum import StrEnum

PENDING = "pending"
TRIALING = "trialing"
ACTIVE = "active"
PAST_DUE = "past_due"
SUSPENDED = "suspended"
CANCELLED = "cancelled"


class Move(StrEnum):
    """Something that happens to a subscription."""

    ACTIVATE = "activate"  # the vendor (or the plan's auto-activation) starts the service
    START_TRIAL = "start_trial"  # activation of a plan with trial days
    END_TRIAL = "end_trial"
    FAIL_PAYMENT = "fail_payment"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    CANCEL = "cancel"


TRANSITIONS: dict[tuple[str, Move], str] = {
    (PENDING, Move.ACTIVATE): ACTIVE,
    (PENDING, Move.START_TRIAL): TRIALING,
    (TRIALING, Move.END_TRIAL): ACTIVE,
    (ACTIVE, Move.FAIL_PAYMENT): PAST_DUE,
    (PAST_DUE, Move.FAIL_PAYMENT): PAST_DUE,
    (PAST_DUE, Move.SUSPEND): SUSPENDED,
    (PAST_DUE, Move.REINSTATE): ACTIVE,
    (SUSPENDED, Move.REINSTATE): ACTIVE,
    (PENDING, Move.CANCEL): CANCELLED,
    (TRIALING, Move.CANCEL): CANCELLED,
    (ACTIVE, Move.CANCEL): CANCELLED,
    (PAST_DUE, Move.CANCEL): CANCELLED,
    (SUSPENDED, Move.CANCEL): CANCELLED,
}

# The statuses in which the vendor delivers the service and usage may be recorded.
SERVING = frozenset({TRIALING, ACTIVE, PAST_DUE})
# The statuses in which the firm may change plan or seats.
CHANGEABLE = frozenset({TRIALING, ACTIVE})


class IllegalMove(ValueError):
    """A move the subscription's status does not allow."""

    def __init__(self, status: str, move: Move) -> None:
        super().__init__(f"cannot {move.value} a subscription that is {status}")
        self.status = status
        self.move = move


def next_status(status: str, move: Move) -> str:
    """Return the status a move leads to, or raise IllegalMove."""
    try:
        return TRANSITIONS[(status, move)]
    except KeyError:
        raise IllegalMove(status, move) from None


def allowed_moves(status: str) -> tuple[Move, ...]:
    """Return the moves a status allows, in declaration order."""
    return tuple(move for (source, move) in TRANSITIONS if source == status)


def charges_in_advance(status: str) -> bool:
    """Say whether a period starting in this status bills its recurring fees up front."""
    return status in (ACTIVE, PAST_DUE)
