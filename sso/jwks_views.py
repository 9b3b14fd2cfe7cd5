"""Publish the provider's public signing keys (RFC 7517 JSON Web Key Set)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from marketplace.clock import current_clock
from marketplace.extensions import db
from sso.signing_keys import jwks_document

# Relying parties may cache the set this long; a retiring key stays published for days,
# far longer, so no cached copy lacks a key whose tokens are still valid.
MAX_AGE_SECONDS = 300

bp = Blueprint("jwks", __name__)


@bp.get("/jwks")
def jwks() -> Response:
    """Answer the public keys that verify the provider's tokens."""
    response = jsonify(jwks_document(db.session(), current_clock()))
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    return response
