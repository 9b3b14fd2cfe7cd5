"""The vendor API's part for a listing's single sign-on client: show, save, rotate its secret.

Every endpoint acts for the calling client's vendor; another vendor's listing, or one of the
other mode, answers 404. A sandbox listing answers 409: single sign-on works only for live
listings. The client secret is answered once, when the client is made or its secret rotated.
"""

from __future__ import annotations

from typing import Any

from catalog.api_paths import known_listing_id
from marketplace.api import api_blueprint, calling_vendor, load_body, require_token
from marketplace.clock import current_clock
from marketplace.extensions import db
from marketplace.idempotency import idempotent_withholding
from marketplace.openapi import documented
from sso.provider import apps
from sso.provider.app_schemas import (
    AppClientSchema,
    AppClientSettingsSchema,
    AppClientWithSecretSchema,
    app_client_data,
)

bp = api_blueprint("app_client_api", __name__)
TAGS = ["single sign-on"]
READ, WRITE = "catalog:read", "catalog:write"
PATH = "/listings/<int:listing_id>/sso-client"
Answer = tuple[dict[str, Any], int]


@bp.get(PATH)
@documented(response=AppClientSchema, errors=[404, 409], tags=TAGS)
@require_token(READ)
def show_app_client(listing_id: int) -> dict[str, Any]:
    """Show the listing's single sign-on client, without its secret."""
    vendor = calling_vendor()
    client = apps.app_client_in(
        db.session(), vendor.id, known_listing_id(listing_id), sandbox=vendor.sandbox
    )
    dumped: dict[str, Any] = AppClientSchema().dump(app_client_data(client))
    return dumped


@bp.put(PATH)
@documented(
    response=AppClientWithSecretSchema,
    body=AppClientSettingsSchema,
    errors=[404, 409],
    tags=TAGS,
    also=[201],
)
@require_token(WRITE)
def save_app_client(listing_id: int) -> Answer:
    """Make the listing's single sign-on client, or change the settings given.

    Making it answers 201 with client_secret, shown only this once; changing it answers 200
    with client_secret null. Settings left out stay as they are; a new client without
    redirect_uris takes those of the listing's newest content.
    """
    settings = load_body(AppClientSettingsSchema())
    vendor = calling_vendor()
    saved = apps.save_listing_app_client(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        known_listing_id(listing_id),
        settings,
        sandbox=vendor.sandbox,
    )
    body = AppClientWithSecretSchema().dump(app_client_data(saved.client, saved.client_secret))
    return body, 201 if saved.created else 200


@bp.post(f"{PATH}/secret")
@documented(response=AppClientWithSecretSchema, errors=[404, 409, 422], tags=TAGS)
@require_token(WRITE)
@idempotent_withholding("client_secret")
def rotate_app_client_secret(listing_id: int) -> dict[str, Any]:
    """Give the listing's single sign-on client a new secret, shown only this once.

    The old secret stops working at once: deploy the new one to the app right away.
    """
    vendor = calling_vendor()
    issued = apps.rotate_listing_app_client_secret(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        known_listing_id(listing_id),
        sandbox=vendor.sandbox,
    )
    dumped: dict[str, Any] = AppClientWithSecretSchema().dump(
        app_client_data(issued.client, issued.client_secret)
    )
    return dumped
