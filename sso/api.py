"""The sso part of the vendor API: who is calling, and the scopes a token may carry."""

from __future__ import annotations

from typing import Any

from flask.blueprints import BlueprintSetupState

from marketplace.api import api_blueprint, api_caller, require_token
from marketplace.openapi import documented, register_scopes
from sso.schemas import CallerSchema
from sso.scopes import ALLOWED_SCOPES

# What each scope allows, as the API document and its docs page say it.
SCOPE_PURPOSES: dict[str, str] = {
    "catalog:read": "Read the vendor's listings and plans.",
    "catalog:write": "Create and change listings and plans, and submit them for review.",
    "usage:write": "Report metered usage of subscriptions.",
    "subscriptions:read": "Read subscriptions to the vendor's plans and their entitlements.",
    "subscriptions:write": "Activate, change and end subscriptions.",
    "webhooks:read": "Read webhook endpoints and the log of their deliveries.",
    "webhooks:write": "Register and change webhook endpoints, send test events, redeliver.",
}

bp = api_blueprint("sso_api", __name__)


@bp.record_once
def _register_scopes(state: BlueprintSetupState) -> None:
    register_scopes(state.app, {s: SCOPE_PURPOSES.get(s, s) for s in ALLOWED_SCOPES})


@bp.get("/me")
@documented(response=CallerSchema, tags=["clients"])
@require_token()
def me() -> dict[str, Any]:
    """Describe the API client whose token this is: its vendor, scopes and sandbox mode."""
    caller = api_caller()
    body: dict[str, Any] = CallerSchema().dump(
        {
            "client_id": caller.client_id,
            "name": caller.client_name,
            "organization": {"id": caller.organization_id, "name": caller.organization_name},
            "scopes": list(caller.scopes),
            "sandbox": caller.sandbox,
        }
    )
    return body
