"""The provider's part of the authorization server: app clients, the code and refresh grants,
ID tokens, revocation (RFC 7009) and introspection (RFC 7662), all through Authlib.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from marketplace.clock import current_clock
from marketplace.extensions import db
from sso import signing_keys
from sso.credentials import (
    is_app_client_id,
    new_app_access_token,
    new_authorization_code,
    new_refresh_token,
    secret_matches,
    well_formed_client_id,
)
from sso.provider import grants
from sso.provider.claims import SUPPORTED_SCOPES, id_token_claims
from sso.provider.models import AppClient, AuthorizationCode, Grant, RefreshToken
from sso.scopes import scope_list

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
MAX_NONCE_LENGTH = 255  # the grant's nonce column
CODE_REFUSALS = {
    grants.CodeRefused.UNKNOWN: "The code is not known.",
    grants.CodeRefused.OTHER_CLIENT: "The code was issued to another client.",
    grants.CodeRefused.EXPIRED: "The code has expired.",
    grants.CodeRefused.REUSED: "The code was already used; the tokens it gave are revoked.",
    grants.CodeRefused.GRANT_REVOKED: "The authorization behind this code was revoked.",
}


def issuer() -> str:
    """Return the provider's issuer identifier: the public URL, without a trailing slash."""
    return str(current_app.config["SETTINGS"].public_url).rstrip("/")


class AppOAuthClient(ClientMixin):
    """A vendor app's client as Authlib sees it: confidential, code and refresh grants."""

    def __init__(self, row: AppClient) -> None:
        self.row = row

    @property
    def client_metadata(self) -> dict[str, Any]:
        """Return the registered metadata RP-initiated logout reads."""
        return {"post_logout_redirect_uris": list(self.row.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        """Return the public client id."""
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        """Return none: the redirect URI must always be sent and match exactly."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """Keep the requested scopes the provider knows; `openid` when none is asked."""
        wanted = [s for s in scope_list(scope) if s in SUPPORTED_SCOPES]
        return " ".join(wanted) if wanted else "openid"

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Accept only a registered redirect URI, compared character for character."""
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare the secret with the stored digest in constant time."""
        return secret_matches(client_secret, self.row.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Accept the secret in a Basic header or in the posted form."""
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        """Allow only the authorization code flow."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """Allow the code grant and refreshing."""
        return grant_type in ("authorization_code", "refresh_token")

    def refusal(self) -> str | None:
        """Say why the client may get no tokens now: its vendor suspended or listing gone."""
        listing = self.row.listing
        if not listing.vendor.is_active:
            return "The vendor organization of this app is suspended."
        return None


@dataclass
class IssuedCode:
    """A claimed code as Authlib's grant and PKCE extension read it."""

    row: AuthorizationCode

    @property
    def code_challenge(self) -> str:
        """Return the PKCE challenge the code was issued for."""
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        """Return the PKCE method: always S256."""
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str:
        """Return the redirect URI the code was sent to."""
        return self.row.redirect_uri

    def get_scope(self) -> str:
        """Return the scope granted."""
        return self.row.grant.scope

    def get_nonce(self) -> str | None:
        """Return the nonce of the authorization request."""
        return self.row.grant.nonce

    def get_auth_time(self) -> int:
        """Return when the user signed in."""
        return int(self.row.grant.auth_time.timestamp())

    def get_acr(self) -> None:
        """Return no authentication context class."""
        return None

    def get_amr(self) -> None:
        """Return no authentication methods."""
        return None


@dataclass
class PresentedRefresh:
    """A claimed refresh token as Authlib's refresh grant reads it."""

    row: RefreshToken

    def check_client(self, client: Any) -> bool:
        """Tell whether client is the app the token was issued to (already checked on use)."""
        return isinstance(client, AppOAuthClient) and client.row.id == self.row.grant.app_client_id

    def get_scope(self) -> str:
        """Return the scope the token carries."""
        return self.row.scope


class RequiredS256(CodeChallenge):
    """PKCE with S256, required of every client at the authorization endpoint."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 (Authlib reads a list)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """Refuse a request without a challenge or with a method other than S256."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AppIdToken(OpenIDCode):
    """ID tokens signed with the provider's active key, claims from our own rules."""

    def __call__(self, grant: Any) -> None:
        """Sign ID tokens after the token response; check nonces (prompt is the view's)."""
        grant.register_hook("after_create_token_response", self.process_token)
        if "openid" in scope_list(grant.request.payload.scope):
            grant.register_hook(
                "after_validate_authorization_request_payload",
                self.validate_openid_authorization_request,
            )

    def validate_openid_authorization_request(self, grant: Any, redirect_uri: str) -> None:
        """Refuse a nonce longer than the provider keeps, then check it was not used before."""
        nonce = grant.request.payload.data.get("nonce") or ""
        if len(nonce) > MAX_NONCE_LENGTH:
            raise InvalidRequestError(f"nonce may have at most {MAX_NONCE_LENGTH} characters.")
        super().validate_openid_authorization_request(grant, redirect_uri)

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        """Tell whether this client already used the nonce (a replayed request)."""
        return grants.nonce_used(db.session(), request.payload.client_id, nonce)

    def encode_id_token(self, token: dict[str, Any], request: OAuth2Request) -> str:
        """Sign the ID token for the grant the token was issued under."""
        grant: Grant = request.user
        nonce = grant.nonce if request.authorization_code is not None else None
        return sign_id_token(grant, nonce=nonce, access_token=token.get("access_token"))


def sign_id_token(grant: Grant, *, nonce: str | None, access_token: str | None) -> str:
    """Return an ID token for grant, signed with the active key."""
    session, clock = db.session(), current_clock()
    client = grant.app_client
    claims = id_token_claims(
        issuer=issuer(),
        client_id=client.client_id,
        subject=grants.app_subject(session, clock, grant.user_id, client),
        sid=grant.sid,
        auth_time=grant.auth_time,
        now=clock.now(),
        org=grants.org_claims(session, grant),
        nonce=nonce,
        access_token=access_token,
    )
    session.commit()
    key = signing_keys.signing_key(session, clock)
    header = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, RSAKey.import_key(key.private_key_pem))


class AppCodeGrant(AuthorizationCodeGrant):
    """The authorization code grant: exact redirect URIs, single-use hashed codes."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuth2Request, client: Any) -> str:
        """Require a redirect URI and match it exactly; never fall back to a default."""
        redirect_uri = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("redirect_uri is required.")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError("redirect_uri is not registered for this client.")
        return str(redirect_uri)

    def generate_authorization_code(self) -> str:
        """Return a fresh code."""
        return new_authorization_code()

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        """Open the grant the user consented to and store the code's digest."""
        session, clock = db.session(), current_clock()
        authorization: grants.Authorization = request.user
        grant = grants.open_grant(session, clock, authorization)
        data = request.payload.data
        grants.add_code(
            session,
            clock,
            grant,
            code=code,
            redirect_uri=str(request.payload.redirect_uri),
            code_challenge=str(data["code_challenge"]),
            code_challenge_method=str(data["code_challenge_method"]),
        )
        session.commit()

    def query_authorization_code(self, code: str, client: AppOAuthClient) -> IssuedCode:
        """Claim the code for client, or refuse it saying why."""
        claimed = grants.claim_code(db.session(), current_clock(), client.row, code)
        if isinstance(claimed, grants.CodeRefused):
            raise InvalidGrantError(CODE_REFUSALS[claimed])
        return IssuedCode(claimed)

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Nothing to delete: claiming the code already used it up."""

    def authenticate_user(self, authorization_code: IssuedCode) -> Grant | None:
        """Return the grant the code belongs to, if its user is still entitled."""
        grant = authorization_code.row.grant
        if not grants.grant_entitled(db.session(), grant):
            raise InvalidGrantError("The user may no longer use this app.")
        return grant

    def save_token(self, token: dict[str, Any]) -> None:
        """Store the digests of the tokens issued under the grant."""
        _save(self.request.user, token)


class AppRefreshGrant(RefreshTokenGrant):
    """Refresh tokens that rotate on every use; a replay revokes the whole grant."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> PresentedRefresh | None:
        """Claim the refresh token for the requesting client."""
        client: AppOAuthClient = self.request.client
        row = grants.use_refresh_token(db.session(), current_clock(), client.row, refresh_token)
        return PresentedRefresh(row) if row is not None else None

    def authenticate_user(self, refresh_token: PresentedRefresh) -> Grant:
        """Return the grant the token belongs to."""
        return refresh_token.row.grant

    def revoke_old_credential(self, refresh_token: PresentedRefresh) -> None:
        """Nothing to do: using the token already spent it."""

    def save_token(self, token: dict[str, Any]) -> None:
        """Store the digests of the new tokens."""
        _save(self.request.user, token)


def _save(grant: Grant, token: dict[str, Any]) -> None:
    grants.save_tokens(
        db.session(),
        current_clock(),
        grant,
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        scope=token.get("scope", grant.scope),
    )


@dataclass
class PresentedToken:
    """An app's access or refresh token, as Authlib's revocation and introspection read it."""

    found: grants.FoundToken

    def check_client(self, client: Any) -> bool:
        """Tell whether client is the app the token was issued to."""
        return (
            isinstance(client, AppOAuthClient) and client.row.id == self.found.grant.app_client_id
        )

    def is_expired(self) -> bool:
        """Tell whether the token is no longer live (expiry and revocation folded in)."""
        return not self.found.active

    def is_revoked(self) -> bool:
        """Tell whether the token is no longer live."""
        return not self.found.active


def _find_token(token_string: str, hint: str | None) -> PresentedToken | None:
    found = grants.find_token(db.session(), current_clock(), token_string, hint)
    return PresentedToken(found) if found is not None else None


class AppRevocation(RevocationEndpoint):
    """RFC 7009: a client revokes its own access or refresh tokens."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        """Find the token among the app tokens."""
        return _find_token(token_string, token_type_hint)

    def revoke_token(self, token: PresentedToken, request: OAuth2Request) -> None:
        """Revoke it; a refresh token takes its whole grant with it."""
        found = token.found
        grants.revoke_presented(
            db.session(), current_clock(), found.grant, found.kind, request.form["token"]
        )


class AppIntrospection(IntrospectionEndpoint):
    """RFC 7662: an app asks whether a token is live, and about whom."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        """Find the token among the app tokens."""
        return _find_token(token_string, token_type_hint)

    def check_permission(self, token: PresentedToken, client: Any, request: Any) -> bool:
        """Only the app the token was issued to may introspect it."""
        return token.check_client(client)

    def introspect_token(self, token: PresentedToken) -> dict[str, Any]:
        """Describe a live token: scope, client, subject, times, firm claims."""
        session, clock, found = db.session(), current_clock(), token.found
        grant = found.grant
        client = grant.app_client
        subject = grants.app_subject(session, clock, grant.user_id, client)
        session.commit()
        return {
            "active": True,
            "scope": found.scope,
            "client_id": client.client_id,
            "token_type": "Bearer" if found.kind == "access_token" else "refresh_token",
            "exp": int(found.expires_at.timestamp()),
            "iat": int(found.issued_at.timestamp()),
            "sub": subject,
            "aud": client.client_id,
            "iss": issuer(),
            **grants.org_claims(session, grant).as_dict(),
        }


class AppEndSession(EndSessionEndpoint):
    """RP-initiated logout: end the user's session here and the grants made in it."""

    def get_server_jwks(self) -> dict[str, Any]:
        """Return every published key, so ID tokens from a retiring key still identify."""
        session, clock = db.session(), current_clock()
        return signing_keys.jwks_document(session, clock)

    def get_algorithms(self) -> list[str]:
        """Accept only the algorithm the provider signs with."""
        return [signing_keys.ALGORITHM]

    def validate_request(self, request: OAuth2Request) -> EndSessionRequest:
        """Validate the request, knowing only vendor apps: an API client never signs users in."""
        client_id = request.payload.data.get("client_id")
        if client_id and not (well_formed_client_id(client_id) and is_app_client_id(client_id)):
            raise InvalidRequestError("client_id names no app of this provider.")
        ending: EndSessionRequest = super().validate_request(request)
        if ending.client is not None and not isinstance(ending.client, AppOAuthClient):
            raise InvalidRequestError("client_id names no app of this provider.")
        return ending

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        """Nothing here: the view ends the browser session and revokes its grants."""


def token_generator() -> BearerTokenGenerator:
    """Return the generator of app access and refresh tokens."""
    return BearerTokenGenerator(
        lambda **_kw: new_app_access_token(),
        lambda **_kw: new_refresh_token(),
        lambda _client, _grant_type: int(grants.ACCESS_TOKEN_LIFETIME.total_seconds()),
    )


def register(server: Any) -> None:
    """Add the provider's grants and endpoints to the authorization server."""
    generator = token_generator()
    server.register_token_generator("authorization_code", generator)
    server.register_token_generator("refresh_token", generator)
    server.register_grant(AppCodeGrant, [RequiredS256(required=True), AppIdToken()])
    server.register_grant(AppRefreshGrant, [AppIdToken()])
    server.register_endpoint(AppRevocation)
    server.register_endpoint(AppIntrospection)
    server.register_endpoint(AppEndSession)


def read_own_id_token(id_token: str) -> dict[str, Any] | None:
    """Return the claims of an ID token this provider signed (expired ones too), else None."""
    document: Any = signing_keys.jwks_document(db.session(), current_clock())
    jwks = KeySet.import_key_set(document)
    try:
        token = jwt.decode(id_token, jwks, algorithms=[signing_keys.ALGORITHM])
    except (JoseError, ValueError):
        return None
    claims = dict(token.claims)
    return claims if claims.get("iss") == issuer() else None
