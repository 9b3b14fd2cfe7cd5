"""The sso part of the vendor API: who is calling."""

from __future__ import annotations

from typing import Any

from marketplace.api import api_blueprint, api_caller, require_token
from sso.schemas import CallerSchema

bp = api_blueprint("sso_api", __name__)


@bp.get("/me")
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
