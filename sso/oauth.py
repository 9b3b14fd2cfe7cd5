"""The OAuth 2.0 authorization server (client credentials) and the bearer-token validator."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator, InvalidTokenError
from flask import Blueprint, Flask, Response, current_app, json

from marketplace.api import REALM, ApiCaller, ApiTokenValidator, require_token
from marketplace.clock import current_clock
from marketplace.extensions import csrf, db
from sso import tokens
from sso.credentials import is_app_client_id, new_access_token, well_formed_client_id
from sso.models import ApiClient
from sso.provider import server as provider
from sso.provider.apps import app_client_by_client_id
from sso.provider.claims import SUPPORTED_SCOPES
from sso.provider.server import AppOAuthClient
from sso.scopes import ALLOWED_SCOPES, scope_list, scope_string

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPE = "client_credentials"

bp = Blueprint("oauth", __name__)
csrf.exempt(bp)


class OAuthClient(ClientMixin):
    """An API client as Authlib sees it: confidential, client credentials only."""

    def __init__(self, row: ApiClient) -> None:
        self.row = row

    def get_client_id(self) -> str:
        """Return the public client id."""
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        """Return no redirect URI: client credentials never redirect."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Grant what was asked (already checked against the client) or all the client holds."""
        return scope_string(scope_list(scope)) if scope else self.row.scopes

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Refuse every redirect URI."""
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare the secret with the stored digest in constant time."""
        return tokens.client_secret_is(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Accept the secret in a Basic header or in the posted form."""
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        """Refuse every response type: there is no authorization endpoint for these clients."""
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        """Allow only the client-credentials grant."""
        return grant_type == GRANT_TYPE

    def refusal(self) -> str | None:
        """Say why the client may get no token now: revoked, or its vendor suspended."""
        return tokens.client_refusal(self.row)


class VendorClientCredentialsGrant(ClientCredentialsGrant):
    """The client-credentials grant, with scopes bounded by what the client was given."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self) -> None:
        """Refuse a scope the client does not hold, naming it."""
        requested = scope_list(self.request.payload.scope)
        held = set(self.request.client.row.scope_list)
        missing = [s for s in requested if s not in held]
        if missing:
            raise InvalidScopeError(
                description=f"This client may not request: {' '.join(missing)}.",
            )


class VendorAuthorizationServer(AuthorizationServer):
    """Authlib's server over our clients and tokens, with refusals that say why."""

    def query_client(self, client_id: str) -> OAuthClient | AppOAuthClient | None:
        """Return the API client or vendor app client with that public id, if any."""
        if not well_formed_client_id(client_id):
            return None
        if is_app_client_id(client_id):
            app = app_client_by_client_id(db.session(), client_id)
            return AppOAuthClient(app) if app else None
        row = tokens.client_by_client_id(db.session(), client_id)
        return OAuthClient(row) if row else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Store the issued token's digest, its expiry counted on our clock."""
        tokens.issue_access_token(
            db.session(),
            current_clock(),
            request.client.row,
            access_token=token["access_token"],
            scope=token.get("scope", ""),
        )

    def authenticate_client(self, request: Any, methods: list[str], endpoint: str = "token") -> Any:
        """Authenticate the client, then refuse a revoked one or one of a suspended vendor."""
        client = super().authenticate_client(request, methods, endpoint)
        refusal = client.refusal()
        if refusal is not None:
            raise InvalidClientError(status_code=401, description=refusal)
        return client

    def handle_error_response(self, request: Any, error: Any) -> Response:
        """Answer RFC 6749 errors, with RFC 9457 members beside `error` for readability.

        The content type stays application/json because RFC 6749 section 5.2 requires it
        and OAuth client libraries read it. An error of the authorization endpoint with a
        validated redirect URI is a redirect carrying the error, and goes out as it is.
        """
        status, body, headers = error(self.get_error_uri(request, error))
        if not isinstance(body, dict):
            return Response(body, status=status, headers=headers)
        problem = {
            "type": f"https://yunshi.example/problems/{body['error']}",
            "title": body["error"].replace("_", " ").capitalize(),
            "status": status,
            "detail": body.get("error_description", ""),
            "code": body["error"],
        }
        return Response(json.dumps({**problem, **body}), status=status, headers=headers)


class ApiBearerTokenValidator(ApiTokenValidator):
    """Find the caller of a bearer token among the tokens this package issued."""

    def authenticate_token(self, token_string: str) -> ApiCaller:
        """Return the token's caller, or raise InvalidTokenError saying why not."""
        try:
            return tokens.authenticate_bearer(db.session(), current_clock(), token_string)
        except tokens.TokenRefused as refusal:
            raise InvalidTokenError(description=str(refusal), realm=REALM) from None


def _token_lifetime(client: object, grant_type: str) -> int:
    return int(tokens.ACCESS_TOKEN_LIFETIME.total_seconds())


def _access_token(**_context: object) -> str:
    return new_access_token()


def build_server(app: Flask) -> VendorAuthorizationServer:
    """Make the authorization server for app: client credentials only, our token format."""
    server = VendorAuthorizationServer()
    server.init_app(app)
    server.scopes_supported = [*ALLOWED_SCOPES, *SUPPORTED_SCOPES]
    server.register_token_generator(
        "default", BearerTokenGenerator(_access_token, None, _token_lifetime)
    )
    server.register_grant(VendorClientCredentialsGrant)
    provider.register(server)
    return server


def init_sso(app: Flask) -> None:
    """Attach the authorization server to app and register the bearer-token validator."""
    app.extensions["oauth_server"] = build_server(app)
    require_token.register_token_validator(ApiBearerTokenValidator(realm=REALM))


@bp.post("/oauth/token")
def token() -> Response:
    """Issue tokens: client credentials (RFC 6749 4.4), authorization code and refresh."""
    server: VendorAuthorizationServer = current_app.extensions["oauth_server"]
    response: Response = server.create_token_response()
    return response
