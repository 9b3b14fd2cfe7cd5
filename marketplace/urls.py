"""URL helpers shared by the views."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, urlsplit

from flask import Flask, current_app, url_for
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

# Row ids are PostgreSQL integers: a larger number in a path names nothing, so it is a 404
# rather than an overflow at the database.
ROW_ID_MAX = 2**31 - 1


def safe_next(target: str | None, default: str = "/") -> str:
    """Return target if it is a path on this site, else default (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def external_url(endpoint: str, **values: Any) -> str:
    """Return an absolute link to a page, for a message read outside any request."""
    # The public address, not the request's host: a proxy or a forged Host header may differ.
    public_url = str(current_app.config["SETTINGS"].public_url).rstrip("/")
    return public_url + url_for(endpoint, **values)


# A developer's own machine may run an app without TLS; nothing else may.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class AppUrlProblem(StrEnum):
    """Why a URL may not be where users' browsers are sent to sign in to, or open, an app."""

    SPACES = "spaces"
    NOT_ABSOLUTE = "not_absolute"
    PLAIN_HTTP = "plain_http"
    CREDENTIALS = "credentials"
    FRAGMENT = "fragment"


def _absolute_http(text: str) -> SplitResult | None:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (reading it checks the port)
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    return parts


def app_url_problem(value: str) -> AppUrlProblem | None:
    """Say what is wrong with an app's URL (redirect, launch, logo), or None when nothing is.

    It must be absolute and https (http only on a loopback host, for development), carry no
    user name or password, and no #fragment, which OAuth 2.0 forbids in redirect URIs.
    """
    text = value.strip()
    if any(char.isspace() or not char.isprintable() for char in text):
        return AppUrlProblem.SPACES
    parts = _absolute_http(text)
    if parts is None:
        return AppUrlProblem.NOT_ABSOLUTE
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return AppUrlProblem.PLAIN_HTTP
    if "@" in parts.netloc:
        return AppUrlProblem.CREDENTIALS
    if "#" in text:
        return AppUrlProblem.FRAGMENT
    return None


class RowIdConverter(IntegerConverter):
    """The `int` of our routes: a number larger than any row id names nothing (404).

    It answers 404 itself rather than failing to match, which would let the router answer
    405 for a path another method's rule would take.
    """

    def to_python(self, value: str) -> int:
        """Read the id, refusing one no row can have."""
        number: int = super().to_python(value)
        if number > ROW_ID_MAX:
            raise NotFound()
        return number


def init_url_converters(app: Flask) -> None:
    """Bound every `<int:...>` of the app's routes (call before registering them)."""
    app.url_map.converters["int"] = RowIdConverter
