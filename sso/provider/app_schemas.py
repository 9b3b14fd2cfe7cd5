"""What the vendor API accepts and answers about a listing's single sign-on client.

The load schema checks shapes and bounds at the edge; the service checks the URL rules and
names each bad field, a list's items by index (`redirect_uris.2`).
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from sso.provider.apps import MAX_URIS, URL_MAX
from sso.provider.models import AppClient

URL_RULE = (
    "an absolute https URL (http only on localhost, 127.0.0.1 or [::1]), with no user name,"
    " password or #fragment"
)


def _url(description: str) -> fields.String:
    return fields.String(
        allow_none=True,
        validate=validate.Length(max=URL_MAX),
        metadata={"description": f"{description}: {URL_RULE}; null or empty clears it."},
    )


def _url_list(description: str) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(max=URL_MAX)),
        validate=validate.Length(max=MAX_URIS, error="At most {max} addresses are allowed."),
        metadata={"description": f"{description}: distinct, each {URL_RULE}; at most 10."},
    )


class AppClientSettingsSchema(Schema):
    """The client's settings to set; those left out stay as they are.

    Creating the client without redirect_uris takes them from the listing's newest content.
    """

    redirect_uris = _url_list("Where sign-in may send users back; at least one")
    post_logout_redirect_uris = _url_list("Where logging out may send users")
    initiate_login_uri = _url(
        "Where Open app sends the user, for the app to start sign-in (OIDC Core section 4)"
    )
    logo_url = _url("The logo users see when asked to let the app sign them in")

    class Meta:
        unknown = RAISE


class AppClientSchema(Schema):
    """A listing's single sign-on client (OpenID Connect); its secret is never shown again."""

    listing_id = fields.Integer(required=True)
    client_id = fields.String(required=True, metadata={"description": "The public client id."})
    redirect_uris = fields.List(fields.String(), required=True)
    post_logout_redirect_uris = fields.List(fields.String(), required=True)
    initiate_login_uri = fields.String(required=True, allow_none=True)
    logo_url = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    secret_rotated_at = fields.DateTime(required=True, allow_none=True)


class AppClientWithSecretSchema(AppClientSchema):
    """A single sign-on client with its secret, when it was just made or rotated."""

    client_secret = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Shown once, when the client is made or its secret rotated; keep it."
            " Null otherwise, and when an Idempotency-Key replays the answer."
        },
    )


def app_client_data(client: AppClient, client_secret: str | None = None) -> dict[str, Any]:
    """Return an app client as AppClientWithSecretSchema dumps it."""
    names = (
        "listing_id",
        "client_id",
        "redirect_uris",
        "post_logout_redirect_uris",
        "initiate_login_uri",
        "logo_url",
        "created_at",
        "updated_at",
        "secret_rotated_at",
    )
    return {name: getattr(client, name) for name in names} | {"client_secret": client_secret}
