"""Who may pass: the signed-in session and the confirmed-email gate other parts use."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

from flask import session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from marketplace.accounts.errors import EmailNotConfirmed
from marketplace.accounts.models import User
from marketplace.clock import current_clock
from marketplace.errors import Unauthorized

F = TypeVar("F", bound=Callable[..., Any])

# Keys that describe the browser rather than who is signed in; they survive a sign-in or out.
KEPT_SESSION_KEYS = ("lang",)
# The sign-in's own id and moment, which single sign-on reports as `sid` and `auth_time`.
SESSION_ID_KEY = "sid"
AUTH_TIME_KEY = "auth_time"


def _clear_session() -> None:
    kept = {key: session[key] for key in KEPT_SESSION_KEYS if key in session}
    session.clear()
    session.update(kept)


def start_session(user: User, *, remember: bool = False) -> None:
    """Sign user in on a fresh session, so nothing from before the sign-in carries over."""
    _clear_session()
    login_user(user, remember=remember, force=False, fresh=True)
    session[SESSION_ID_KEY] = secrets.token_urlsafe(24)
    session[AUTH_TIME_KEY] = int(current_clock().now().timestamp())


def session_id() -> str | None:
    """Return the id of the current sign-in, if any."""
    value = session.get(SESSION_ID_KEY)
    return value if isinstance(value, str) else None


def authenticated_at() -> datetime | None:
    """Return when the current user signed in on this session, if known."""
    value = session.get(AUTH_TIME_KEY)
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def end_session() -> None:
    """Sign the user out and forget everything the session held about them.

    The session is cleared first: signing out leaves in it the order to delete the
    "keep me signed in" cookie, which must survive to the response.
    """
    _clear_session()
    logout_user()


def ensure_confirmed(user: User) -> None:
    """Refuse with EmailNotConfirmed unless user has confirmed the email address."""
    if not user.is_confirmed:
        raise EmailNotConfirmed(
            _(
                "Please confirm your email address first: follow the link we mailed you, "
                "or ask for a new one."
            )
        )


def require_confirmed(view: F) -> F:
    """Let a view run only for a signed-in user whose email address is confirmed."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            raise Unauthorized()
        ensure_confirmed(current_user)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
