"""URL helpers shared by the views."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for


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
