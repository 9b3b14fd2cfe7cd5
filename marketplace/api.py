"""The vendor API's conventions: its base path, bearer-token protection, who is calling.

`require_token` is made here, unbound; the package that issues tokens (sso) registers its
validator on it at start-up, so every package protects its endpoints without importing
that one. Refusals come out as RFC 9457 problem+json with an RFC 6750 challenge. Every
request with a valid token is charged to its client's budget (marketplace.ratelimit), and
the guarded views are described in the OpenAPI document (marketplace.openapi).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError, UnsupportedTokenTypeError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError
from flask import Blueprint, Flask, Response, g, request
from marshmallow import Schema, ValidationError

from marketplace import api_docs
from marketplace.audit.services import Actor
from marketplace.errors import AppError, NotFound, Unauthorized, ValidationFailed, problem_response
from marketplace.extensions import csrf
from marketplace.openapi import mark_required_scopes
from marketplace.ratelimit import api_rate_limit
from marketplace.settings import Settings
from marketplace.urls import ROW_ID_MAX

API_PREFIX = "/api/v1"
REALM = "yunshi"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ApiCaller:
    """Who calls the API: the client, its vendor organization, its scopes and its mode."""

    client_id: str
    client_name: str
    organization_id: int
    organization_name: str
    scopes: tuple[str, ...]
    sandbox: bool


class BearerTokenRefused(AppError):
    """A request to the API came without a usable token, or with too narrow a scope."""

    status = 401
    code = "invalid_token"
    title = "Invalid access token"

    def __init__(
        self, detail: str, *, status: int, code: str, title: str, challenge: str, **extra: Any
    ) -> None:
        super().__init__(detail, **extra)
        self.status, self.code, self.title = status, code, title
        self.challenge = challenge


class MissingScope(InsufficientScopeError):
    """The token is valid but lacks every scope set that would allow the request."""

    def __init__(self, required: Sequence[str]) -> None:
        self.required = list(required)
        super().__init__(description=f"This request needs the scope {' or '.join(required)}.")


class ApiTokenValidator(BearerTokenValidator):
    """Check a bearer token's scopes; the issuing package says which token it is.

    authenticate_token returns an ApiCaller, or raises InvalidTokenError saying why not.
    A required scope may name several scopes separated by spaces (all needed); several
    required scopes are alternatives.
    """

    def validate_token(self, token: ApiCaller, scopes: list[str] | None, request: Any) -> None:
        """Refuse a caller whose scopes cover none of the required scope sets."""
        if not scopes:
            return
        held = set(token.scopes)
        if not any(set(required.split()) <= held for required in scopes):
            raise MissingScope(scopes)


class ApiResourceProtector(ResourceProtector):
    """Authlib's protector, refusing through our error hierarchy instead of bare JSON.

    A valid token is charged to its client's request budget before its scopes are
    checked, so refused calls count too; the guarded view is marked with the scopes it
    needs, which the OpenAPI document reads.
    """

    def raise_error_response(self, error: OAuth2Error) -> NoReturn:
        """Raise the refusal that renders as problem+json with a WWW-Authenticate header."""
        raise refusal_of(error)

    def validate_request(self, scopes: list[str] | None, request: Any, **kwargs: Any) -> Any:
        """Authenticate the token, charge its client one request, then check its scopes."""
        validator, token_string = self.parse_request_authorization(request)
        validator.validate_request(request)
        token = validator.authenticate_token(token_string)
        if isinstance(token, ApiCaller):
            api_rate_limit.charge(token.client_id)
        validator.validate_token(token, scopes, request, **kwargs)
        return token

    def __call__(
        self, scopes: str | list[str] | None = None, optional: bool = False, **kwargs: Any
    ) -> Callable[[F], F]:
        """Guard a view with a bearer token holding any one of the scope sets."""
        if callable(scopes):  # used bare, as @require_token
            return self(None, optional, **kwargs)(scopes)
        guard = super().__call__(scopes, optional, **kwargs)
        required = [scopes] if isinstance(scopes, str) else list(scopes or [])

        def decorator(view: F) -> F:
            guarded: F = guard(view)
            mark_required_scopes(guarded, required)
            return guarded

        return decorator


require_token = ApiResourceProtector()


def refusal_of(error: OAuth2Error) -> BearerTokenRefused:
    """Translate an Authlib error on a protected request into our refusal."""
    if isinstance(error, MissingScope):
        scope = " ".join(error.required)
        return BearerTokenRefused(
            error.get_error_description(),
            status=403,
            code="insufficient_scope",
            title="Insufficient scope",
            challenge=f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"',
            required_scopes=error.required,
        )
    if isinstance(error, MissingAuthorizationError):
        return BearerTokenRefused(
            "Send an access token from /oauth/token as 'Authorization: Bearer <token>'.",
            status=401,
            code="missing_token",
            title="Authentication required",
            challenge=f'Bearer realm="{REALM}"',
        )
    if isinstance(error, UnsupportedTokenTypeError):
        detail = "The Authorization header must read 'Bearer <token>'."
    else:
        detail = error.get_error_description() or "The access token is not valid."
    return BearerTokenRefused(
        detail,
        status=401,
        code="invalid_token",
        title="Invalid access token",
        challenge=f'Bearer realm="{REALM}", error="invalid_token"',
    )


def api_caller() -> ApiCaller:
    """Return the caller that require_token admitted to this request."""
    # Authlib's Flask protector keeps the admitted token (our ApiCaller) under this name.
    caller = g.get("authlib_server_oauth2_token")
    if not isinstance(caller, ApiCaller):
        raise Unauthorized("This endpoint needs an access token.")
    return caller


# The largest id an integer primary key holds: a larger one names no row, of anyone.


@dataclass(frozen=True)
class CallingVendor:
    """The vendor the calling client acts for, as the audit names it, and the client's mode."""

    actor: Actor
    id: int
    sandbox: bool
    client_id: str


def calling_vendor() -> CallingVendor:
    """Return the vendor of the calling client, its audit actor and the client's mode."""
    caller = api_caller()
    actor = Actor(None, caller.organization_id)
    return CallingVendor(actor, caller.organization_id, caller.sandbox, caller.client_id)


def known_id(identifier: int, message: str | None = None) -> int:
    """Return an id in a row id's range, or raise NotFound without asking the database."""
    if identifier > ROW_ID_MAX:
        raise NotFound(message)
    return identifier


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """Make a blueprint under the API's base path; bearer tokens, not cookies, guard it."""
    blueprint = Blueprint(name, import_name, url_prefix=API_PREFIX)
    csrf.exempt(blueprint)
    return blueprint


def render_refusal(error: BearerTokenRefused) -> Response:
    """Render a refusal as problem+json with its RFC 6750 challenge."""
    response = problem_response(error.status, error.code, error.title, error.detail, **error.extra)
    response.headers["WWW-Authenticate"] = error.challenge
    return response


def load_body(schema: Schema) -> dict[str, Any]:
    """Load the request's JSON body with schema; raise ValidationFailed naming each field."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["Send a JSON object with Content-Type application/json."]})
    return _load(schema, body)


def load_query(schema: Schema) -> dict[str, Any]:
    """Load the request's query parameters with schema; raise ValidationFailed naming each."""
    return _load(schema, request.args.to_dict())


def _load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        raise ValidationFailed(field_errors(error.messages)) from None
    return loaded


def field_errors(messages: Any, path: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error messages to {"field.sub": [reasons]}."""
    if isinstance(messages, Mapping):
        errors: dict[str, list[str]] = {}
        for name, inner in messages.items():
            errors.update(field_errors(inner, f"{path}.{name}" if path else str(name)))
        return errors
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {path or "body": list(messages)}
    return {path or "body": [str(messages)]}


def init_api(app: Flask) -> None:
    """Render the API's token refusals, count each client's requests, serve the document."""
    settings: Settings = app.config["SETTINGS"]
    app.register_error_handler(BearerTokenRefused, render_refusal)
    api_rate_limit.init_app(
        app,
        settings.redis_url,
        prefix=settings.rate_limit_prefix,
        per_minute=settings.api_rate_limit_per_minute,
    )
    app.register_blueprint(api_docs.bp, url_prefix=API_PREFIX)
