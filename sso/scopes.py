"""The scopes a vendor API client may hold, and how a scope string is read."""

from __future__ import annotations

# Order is the order the console lists them in.
ALLOWED_SCOPES: tuple[str, ...] = (
    "catalog:read",
    "catalog:write",
    "usage:write",
    "subscriptions:read",
    "subscriptions:write",
    "webhooks:read",
    "webhooks:write",
)


def scope_list(scope: str | None) -> list[str]:
    """Split a space-separated scope string into its distinct scopes, in their first order."""
    return list(dict.fromkeys((scope or "").split()))


def unknown_scopes(scopes: list[str]) -> list[str]:
    """Return the scopes that are not among the allowed ones."""
    return [s for s in scopes if s not in ALLOWED_SCOPES]


def scope_string(scopes: list[str]) -> str:
    """Join scopes into the stored form: distinct, in the allowed list's order."""
    wanted = set(scopes)
    return " ".join(s for s in ALLOWED_SCOPES if s in wanted)
