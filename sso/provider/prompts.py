"""What the authorization endpoint must do about sign-in before it may answer (OIDC Core 3.1.2).

Pure: given the request's `prompt`, `max_age` and hints and what the browser session holds,
say whether to go on, to ask the user to sign in (again), or to answer with an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KNOWN_PROMPTS = frozenset({"none", "login", "consent", "select_account"})


class Step(StrEnum):
    """The next step at the authorization endpoint."""

    PROCEED = "proceed"
    SIGN_IN = "sign_in"
    LOGIN_REQUIRED = "login_required"
    INVALID = "invalid_request"


@dataclass(frozen=True)
class SignInState:
    """What the browser session says about the user, and whether the hints fit them."""

    signed_in: bool
    auth_time: datetime | None
    hints_match: bool


@dataclass(frozen=True)
class Decision:
    """The step, and why, for an error description or the log."""

    step: Step
    reason: str = ""


def parse_prompt(raw: str | None) -> frozenset[str]:
    """Split a prompt parameter into its values."""
    return frozenset((raw or "").split())


def parse_max_age(raw: str | None) -> int | None:
    """Read max_age as whole seconds, or None when absent; raise ValueError when malformed."""
    if raw is None or raw == "":
        return None
    # int() would also take signs, spaces, underscores and non-ASCII digits.
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(raw)
    return int(raw)


def sign_in_step(
    prompts: frozenset[str], max_age: int | None, state: SignInState, now: datetime
) -> Decision:
    """Decide whether the user must sign in before the request can be answered."""
    if prompts - KNOWN_PROMPTS:
        return Decision(Step.INVALID, "Unknown prompt value.")
    if "none" in prompts and len(prompts) > 1:
        return Decision(Step.INVALID, "prompt=none cannot be combined with other values.")
    reason = _why_sign_in(prompts, max_age, state, now)
    if reason is None:
        return Decision(Step.PROCEED)
    if "none" in prompts:
        return Decision(Step.LOGIN_REQUIRED, reason)
    return Decision(Step.SIGN_IN, reason)


def _why_sign_in(
    prompts: frozenset[str], max_age: int | None, state: SignInState, now: datetime
) -> str | None:
    if not state.signed_in or state.auth_time is None:
        return "The user is not signed in."
    if not state.hints_match:
        return "The signed-in user is not the one the request names."
    if "login" in prompts:
        return "The client asked for a fresh sign-in."
    # max_age=0 asks for a sign-in at every request, like prompt=login (OIDC Core 3.1.2.1).
    if max_age == 0 or (max_age is not None and (now - state.auth_time).total_seconds() > max_age):
        return "The sign-in is older than max_age allows."
    return None


def without_login_prompt(prompts: frozenset[str]) -> str:
    """Return the prompt to carry after a fresh sign-in, so it is not asked for again."""
    return " ".join(sorted(prompts - {"login"}))


# After a sign-in asked for by prompt=login or a short max_age, the request comes back with
# this max_age instead: the new sign-in passes it, going back without signing in does not.
FRESH_SIGN_IN_SECONDS = 60


def carried_max_age(prompts: frozenset[str], max_age: int | None) -> int | None:
    """Return the max_age to carry back after a sign-in, so a fresh one is still required."""
    if "login" in prompts or (max_age is not None and max_age < FRESH_SIGN_IN_SECONDS):
        return FRESH_SIGN_IN_SECONDS
    return max_age
