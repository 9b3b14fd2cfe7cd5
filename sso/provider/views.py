"""The provider's endpoints: discovery, authorize (with consent), UserInfo, revoke, introspect,
logout, and "Open app" from a firm's subscription.

Views parse, call and render; the rules live in prompts, entitlements, consent and grants.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError as CsrfInvalid

from marketplace.accounts.access import authenticated_at, end_session, ensure_confirmed, session_id
from marketplace.clock import current_clock
from marketplace.extensions import csrf, db
from marketplace.security import allow_form_targets, allow_images
from sso.provider import grants, prompts
from sso.provider.apps import app_name
from sso.provider.claims import ORG_CLAIMS, SUPPORTED_SCOPES, app_sid, userinfo_claims
from sso.provider.consent import consent_given, remember_consent
from sso.provider.entitlements import Entitlement, Refused, entitlement_for
from sso.provider.launch import PREFERRED_FIRM_KEY
from sso.provider.server import AUTH_METHODS, AppOAuthClient, issuer, read_own_id_token
from sso.scopes import scope_list

TEMPLATES = "sso/provider/"

bp = Blueprint("provider", __name__)
csrf.exempt(bp)  # relying parties post here; the consent and logout forms check CSRF themselves


def _server() -> Any:
    return current_app.extensions["oauth_server"]


# ---- discovery --------------------------------------------------------------------------------


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    """Describe the provider (OpenID Connect Discovery 1.0)."""
    base = issuer()
    response = jsonify(
        {
            "issuer": base,
            "authorization_endpoint": base + url_for("provider.authorize"),
            "token_endpoint": base + url_for("oauth.token"),
            "userinfo_endpoint": base + url_for("provider.userinfo"),
            "jwks_uri": base + url_for("jwks.jwks"),
            "revocation_endpoint": base + url_for("provider.revoke"),
            "introspection_endpoint": base + url_for("provider.introspect"),
            "end_session_endpoint": base + url_for("provider.logout"),
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "at_hash",
                "name",
                "locale",
                "email",
                "email_verified",
                *ORG_CLAIMS,
            ],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "ui_locales_supported": ["zh-CN", "en"],
        }
    )
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


# ---- authorize --------------------------------------------------------------------------------


def _error(error: OAuth2Error) -> ResponseReturnValue:
    """Redirect an error to a validated redirect URI; otherwise show it, never redirecting."""
    if getattr(error, "redirect_uri", None):
        response: Response = _server().handle_error_response(None, error)
        return response
    html = render_template(
        TEMPLATES + "authorize_error.html",
        error=error.error,
        description=error.get_error_description() or "",
    )
    return html, 400


def _with_redirect(error: OAuth2Error, grant: Any) -> OAuth2Error:
    error.redirect_uri = grant.redirect_uri
    error.state = grant.request.payload.state
    return error


def _hints_match(grant: Any, client: AppOAuthClient) -> bool:
    """Tell whether login_hint and id_token_hint, when sent, name the signed-in user."""
    login_hint = request.values.get("login_hint")
    if login_hint and login_hint.strip().lower() != current_user.email.lower():
        return False
    id_token_hint = request.values.get("id_token_hint")
    if not id_token_hint:
        return True
    claims = read_own_id_token(id_token_hint)
    if claims is None:
        raise _with_redirect(
            InvalidRequestError("id_token_hint is not an ID token this provider issued."), grant
        )
    expected = grants.app_subject(db.session(), current_clock(), current_user.id, client.row)
    db.session.commit()
    return claims.get("sub") == expected


def _sign_in_redirect(prompt_values: frozenset[str], max_age: int | None) -> Response:
    args = _request_fields()
    carried = prompts.carried_max_age(prompt_values, max_age)
    if carried is not None:
        args["max_age"] = str(carried)
    remaining = prompts.without_login_prompt(prompt_values)
    if remaining:
        args["prompt"] = remaining
    else:
        args.pop("prompt", None)
    back = url_for("provider.authorize") + "?" + urlencode(args)
    # The session stays until the user signs in afresh: a link elsewhere may not sign them out.
    login_args: dict[str, Any] = {"next": back}
    if current_user.is_authenticated:
        login_args["again"] = "1"
    if request.values.get("login_hint"):
        login_args["email"] = request.values["login_hint"]
    return redirect(url_for("accounts.login", **login_args))  # type: ignore[return-value]


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """Authenticate the user, check the firm's entitlement and consent, then issue a code."""
    server = _server()
    try:
        grant = server.get_consent_grant(end_user=None)
        client: AppOAuthClient = grant.client
        prompt_values = prompts.parse_prompt(request.values.get("prompt"))
        max_age = _max_age(grant)
        signed_in = bool(current_user.is_authenticated)
        state = prompts.SignInState(
            signed_in=signed_in,
            auth_time=authenticated_at() if signed_in else None,
            hints_match=_hints_match(grant, client) if signed_in else True,
        )
        decision = prompts.sign_in_step(prompt_values, max_age, state, current_clock().now())
        if decision.step == prompts.Step.INVALID:
            raise _with_redirect(InvalidRequestError(decision.reason), grant)
        if decision.step == prompts.Step.LOGIN_REQUIRED:
            raise _with_redirect(LoginRequiredError(decision.reason), grant)
        if decision.step == prompts.Step.SIGN_IN:
            return _sign_in_redirect(prompt_values, max_age)
        return _authorize_signed_in(server, grant, client, prompt_values)
    except OAuth2Error as error:
        return _error(error)


def _max_age(grant: Any) -> int | None:
    try:
        return prompts.parse_max_age(request.values.get("max_age"))
    except ValueError:
        error = InvalidRequestError("max_age must be a whole number of seconds.")
        raise _with_redirect(error, grant) from None


def _preferred_firm() -> int | None:
    chosen = request.form.get("firm") if request.method == "POST" else None
    value = chosen or session.get(PREFERRED_FIRM_KEY)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _authorize_signed_in(
    server: Any, grant: Any, client: AppOAuthClient, prompt_values: frozenset[str]
) -> ResponseReturnValue:
    session_db, clock = db.session(), current_clock()
    if not current_user.is_confirmed:
        if "none" in prompt_values:
            raise _with_redirect(
                InteractionRequiredError("Confirm the email address first."), grant
            )
        ensure_confirmed(current_user)  # the page says how to confirm
    listing = client.row.listing
    outcome = entitlement_for(session_db, current_user.id, listing.id, _preferred_firm())
    if isinstance(outcome, Refused):
        if "none" in prompt_values:
            raise _with_redirect(
                AccessDeniedError("The user may not use this app: " + outcome.reason), grant
            )
        html = render_template(
            TEMPLATES + "refused.html",
            refusal=outcome,
            listing=listing,
            app_name=app_name(listing),
        )
        return html, 403
    scope = grant.request.scope
    deciding = request.method == "POST" and "decision" in request.form
    if deciding:
        _check_csrf()
        if request.form["decision"] != "allow":
            raise _with_redirect(AccessDeniedError("The user declined."), grant)
        remember_consent(session_db, clock, current_user.id, client.row.id, scope)
    elif "consent" in prompt_values or not consent_given(
        session_db, current_user.id, outcome.firm_id, client.row.id, scope
    ):
        if "none" in prompt_values:
            raise _with_redirect(ConsentRequiredError(), grant)
        return _consent_page(client, outcome, scope)
    return _issue_code(server, grant, client, outcome, scope)


def _check_csrf() -> None:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (CsrfInvalid, CSRFError):
        abort(400, description="The form has expired; please try again.")


# What the consent form adds to the authorization request it carries.
FORM_FIELDS = frozenset({"csrf_token", "decision", "firm"})


def _request_fields() -> dict[str, str]:
    """Return the authorization request's parameters, sent by GET or POST, for the form."""
    return {k: v for k, v in request.values.items() if k not in FORM_FIELDS}


def _consent_page(client: AppOAuthClient, outcome: Entitlement, scope: str) -> str:
    allow_form_targets(str(request.values["redirect_uri"]))  # Allow and Deny both go there
    if client.row.logo_url:
        allow_images(client.row.logo_url)
    return render_template(
        TEMPLATES + "consent.html",
        client=client.row,
        listing=client.row.listing,
        app_name=app_name(client.row.listing),
        entitlement=outcome,
        scopes=scope_list(scope),
        request_fields=_request_fields(),
    )


def _issue_code(
    server: Any, grant: Any, client: AppOAuthClient, outcome: Entitlement, scope: str
) -> ResponseReturnValue:
    auth_time = authenticated_at()
    sid = session_id()
    assert auth_time is not None and sid is not None
    authorization = grants.Authorization(
        app_client=client.row,
        user_id=current_user.id,
        entitlement=outcome,
        scope=scope,
        nonce=request.values.get("nonce") if "openid" in scope_list(scope) else None,
        sid=sid,
        auth_time=auth_time,
    )
    response: Response = server.create_authorization_response(grant=grant, grant_user=authorization)
    return response


# ---- UserInfo, revocation, introspection ---------------------------------------------------


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    if request.method == "POST":
        return request.form.get("access_token") or None
    return None


def _invalid_token(description: str) -> Response:
    response = jsonify({"error": "invalid_token", "error_description": description})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = (
        f'Bearer error="invalid_token", error_description="{description}"'
    )
    return response


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    """Answer who the access token's user is: the firm claims, profile and email by scope."""
    token = _bearer()
    if token is None:
        response = jsonify(
            {"error": "invalid_request", "error_description": "Send a bearer token."}
        )
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="yunshi"'
        return response
    session_db, clock = db.session(), current_clock()
    row = grants.active_access_token(session_db, clock, token)
    if row is None:
        return _invalid_token("The access token is not valid now.")
    scope = scope_list(row.scope)
    if "openid" not in scope:
        return _invalid_token("The access token was not issued for OpenID Connect.")
    grant = row.grant
    subject = grants.app_subject(session_db, clock, grant.user_id, grant.app_client)
    claims = userinfo_claims(
        subject,
        scope,
        grants.person(session_db, grant.user_id),
        grants.org_claims(session_db, grant),
    )
    session_db.commit()
    response = jsonify(claims)
    response.cache_control.no_store = True
    return response


@bp.post("/oauth/revoke")
def revoke() -> Response:
    """Revoke an access or refresh token (RFC 7009)."""
    response: Response = _server().create_endpoint_response("revocation")
    return response


@bp.post("/oauth/introspect")
def introspect() -> Response:
    """Say whether a token is live and about whom (RFC 7662)."""
    response: Response = _server().create_endpoint_response("introspection")
    return response


# ---- logout ------------------------------------------------------------------------------------


def _needs_confirmation(ending: Any) -> bool:
    """Ask first without a hint, or when the hint names another sign-in than this session's."""
    claims, sid = ending.id_token_claims, session_id()
    if claims is None or sid is None or ending.client is None:
        return True
    return bool(claims.get("sid") != app_sid(sid, ending.client.get_client_id()))


@bp.route("/oauth/logout", methods=["GET", "POST"])
def logout() -> ResponseReturnValue:
    """End the session here at an app's request (OpenID Connect RP-Initiated Logout 1.0)."""
    server = _server()
    try:
        ending = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return _error(error)
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    if confirmed:
        _check_csrf()
    if _needs_confirmation(ending) and not confirmed and current_user.is_authenticated:
        client = ending.client
        if ending.redirect_uri:
            allow_form_targets(ending.redirect_uri)  # confirming goes back to the app
        return render_template(
            TEMPLATES + "logout_confirm.html",
            listing=client.row.listing if client is not None else None,
            fields={k: v for k, v in request.values.items() if k not in ("csrf_token", "confirm")},
        )
    sid = session_id()
    if current_user.is_authenticated and sid is not None:
        grants.revoke_grants(
            db.session(),
            current_clock(),
            grants.RevokedBecause.LOGGED_OUT,
            user_id=current_user.id,
            sid=sid,
        )
        db.session.commit()
    end_session()
    response: Response | None = server.create_endpoint_response("end_session", ending)
    if response is not None:
        return response
    return render_template(TEMPLATES + "logged_out.html")
