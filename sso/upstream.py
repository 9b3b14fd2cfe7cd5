"""Sign in through an upstream OpenID Connect provider (统一身份) and link its accounts to ours.

Authlib's Flask client does the protocol: a code request with PKCE S256, state and nonce, the
code exchange, and the ID token's signature, issuer, audience, expiry and nonce. What is ours
is the linking: which Yunshi user an upstream account signs in as, decided by the rules in
sso.upstream_rules; here are the client, the callback and the services that apply them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import sqlalchemy as sa
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask, current_app, request, session
from flask_babel import gettext as _
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.accounts import services as accounts
from marketplace.accounts.models import User
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import AppError, Conflict, ValidationFailed
from marketplace.settings import Settings, SettingsError
from sso.upstream_models import UpstreamIdentity
from sso.upstream_rules import (
    AccountState,
    PendingLink,
    Route,
    UpstreamClaims,
    account_state,
    choose_route,
    claims_from,
    display_name_for,
    pending_link,
)

CLIENT_NAME = "upstream"
EXTENSION_KEY = "upstream_oidc"
SCOPE = "openid email profile"
# Where the session keeps the page to return to and an upstream account waiting for a password.
NEXT_KEY = "upstream_next"
PENDING_KEY = "upstream_pending"
HTTP_TIMEOUT_SECONDS = 10


class UpstreamLoginFailed(AppError):
    """The upstream sign-in cannot go on; the detail tells the user what went wrong."""

    status = 400
    code = "upstream_login_failed"
    title = "Sign-in failed"


class UpstreamUnreachable(UpstreamLoginFailed):
    """The upstream provider did not answer, or answered with something unusable."""

    status = 502
    code = "upstream_unreachable"


# ---- the client -------------------------------------------------------------------------------


def init_upstream_login(app: Flask, settings: Settings) -> None:
    """Register the upstream provider's client on app when settings name an issuer."""
    if not settings.upstream_oidc_enabled:
        return
    issuer = str(settings.upstream_oidc_issuer)
    if not settings.upstream_oidc_client_id or not settings.upstream_oidc_client_secret:
        raise SettingsError("the upstream OpenID provider needs a client id and a client secret")
    # An OAuth registry per app: each app may talk to a different provider.
    client = OAuth(app).register(
        CLIENT_NAME,
        client_id=settings.upstream_oidc_client_id,
        client_secret=settings.upstream_oidc_client_secret,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "timeout": HTTP_TIMEOUT_SECONDS,
        },
    )
    app.extensions[EXTENSION_KEY] = client
    app.context_processor(_button_context)


def _button_context() -> dict[str, Any]:
    return {"upstream_login_name": provider_name()}


def is_enabled() -> bool:
    """Tell whether this app signs users in through an upstream provider."""
    return EXTENSION_KEY in current_app.extensions


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def provider_name() -> str:
    """Return the upstream provider's name as users see it."""
    return _settings().upstream_oidc_name or _("Unified identity authentication")


def issuer() -> str:
    """Return the configured issuer of the upstream provider."""
    return str(_settings().upstream_oidc_issuer)


def _client() -> FlaskOAuth2App:
    client: FlaskOAuth2App = current_app.extensions[EXTENSION_KEY]
    return client


def _checked_metadata(client: FlaskOAuth2App) -> Mapping[str, Any]:
    """Load the provider's metadata, refusing one that names another issuer (mix-up)."""
    try:
        metadata: Mapping[str, Any] = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise UpstreamUnreachable(
            _("%(name)s could not be reached. Try again later.", name=provider_name())
        ) from exc
    if metadata.get("issuer") != issuer():
        current_app.logger.error("upstream metadata names issuer %r", metadata.get("issuer"))
        raise UpstreamUnreachable(
            _("%(name)s is not set up correctly. Try again later.", name=provider_name())
        )
    return metadata


def authorization_redirect(redirect_uri: str) -> Any:
    """Return the redirect to the provider's authorization endpoint (state, nonce, PKCE)."""
    client = _client()
    _checked_metadata(client)
    try:
        return client.authorize_redirect(redirect_uri)
    except (requests.RequestException, AuthlibBaseError) as exc:
        raise UpstreamUnreachable(
            _("%(name)s could not be reached. Try again later.", name=provider_name())
        ) from exc


# ---- the callback -----------------------------------------------------------------------------


def _start_again() -> UpstreamLoginFailed:
    return UpstreamLoginFailed(
        _(
            "This sign-in is no longer valid: it was already used, it expired, or it was not "
            "started in this browser. Start again from the sign-in page."
        )
    )


def _unverified() -> UpstreamLoginFailed:
    return UpstreamLoginFailed(
        _(
            "The identity %(name)s sent could not be verified. Start again from the sign-in page.",
            name=provider_name(),
        )
    )


def _drop_state(client: FlaskOAuth2App, state: str | None) -> None:
    if state:
        client.framework.clear_state_data(session, state)


def complete_authorization() -> UpstreamClaims:
    """Check the provider's answer on the callback and return the verified upstream claims."""
    client = _client()
    state = request.args.get("state")
    error = request.args.get("error")
    if error:
        _drop_state(client, state)
        raise UpstreamLoginFailed(
            _("%(name)s did not sign you in (%(error)s).", name=provider_name(), error=error[:60])
        )
    if not state or not request.args.get("code"):
        raise _start_again()
    returned_issuer = request.args.get("iss")
    if returned_issuer is not None and returned_issuer != issuer():
        _drop_state(client, state)  # RFC 9207: the answer came from another provider
        raise _unverified()
    _checked_metadata(client)
    raw = _verified_claims(client)
    try:
        return claims_from(issuer(), raw)
    except ValueError as exc:
        raise _unverified() from exc


def _verified_claims(client: FlaskOAuth2App) -> Mapping[str, Any]:
    """Exchange the code and return the ID token's claims, with userinfo's where it lacks email."""
    options = {
        "iss": {"essential": True, "value": issuer()},
        "aud": {"essential": True, "value": str(client.client_id)},
    }
    try:
        token = client.authorize_access_token(claims_options=options)
        claims = token.get("userinfo")
        if not claims:
            raise _unverified()  # no ID token: nothing vouches for who signed in
        if "email" in claims or not client.server_metadata.get("userinfo_endpoint"):
            return dict(claims)
        extra = client.userinfo(token=token)
    except MismatchingStateError as exc:
        raise _start_again() from exc
    except OAuthError as exc:
        current_app.logger.warning("upstream refused the code: %s", exc)
        raise UpstreamLoginFailed(
            _(
                "%(name)s refused to confirm this sign-in; the link may have been used already. "
                "Start again from the sign-in page.",
                name=provider_name(),
            )
        ) from exc
    except requests.RequestException as exc:
        raise UpstreamUnreachable(
            _("%(name)s could not be reached. Try again later.", name=provider_name())
        ) from exc
    except (JoseError, AuthlibBaseError, ValueError, KeyError, TypeError) as exc:
        current_app.logger.warning("upstream ID token refused: %r", exc)
        raise _unverified() from exc
    if extra.get("sub") != claims.get("sub"):
        raise _unverified()
    return {**extra, **claims}


# ---- services ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """The upstream account signs in as this user (created now when `created`)."""

    user: User
    created: bool = False


@dataclass(frozen=True)
class PasswordNeeded:
    """The holder must prove a Yunshi account with its password before the link is made."""

    pending: PendingLink


def find_link(session: Session, issuer: str, subject: str) -> UpstreamIdentity | None:
    """Return the link of an upstream account, if it has one."""
    stmt = sa.select(UpstreamIdentity).where(
        UpstreamIdentity.issuer == issuer, UpstreamIdentity.subject == subject
    )
    return session.scalar(stmt)


def link_expired() -> UpstreamLoginFailed:
    """Return the error for a password page with no upstream account waiting (or too late)."""
    return UpstreamLoginFailed(
        _(
            "No sign-in is waiting to be linked here: it took longer than 10 minutes or was "
            "already finished. Start again from the sign-in page."
        )
    )


def _closed() -> UpstreamLoginFailed:
    return UpstreamLoginFailed(_("This account is closed. Contact the marketplace operator."))


def sign_in_upstream(
    session: Session, clock: Clock, claims: UpstreamClaims, *, ip: str | None = None
) -> SignedIn | PasswordNeeded:
    """Sign an upstream account in: through its link, by its verified address, or as new."""
    link = find_link(session, claims.issuer, claims.subject)
    linked_user = session.get(User, link.user_id) if link else None
    by_email = accounts.user_by_email(session, claims.email) if claims.email else None
    route = choose_route(
        linked=account_state(linked_user) if link else AccountState.NONE,
        email_verified=claims.email_verified,
        by_email=account_state(by_email),
    )
    if route is Route.REFUSE_CLOSED:
        raise _closed()
    if route is Route.ASK_PASSWORD:
        return PasswordNeeded(pending_link(claims, clock.now()))
    try:
        if route is Route.SIGN_IN and link is not None and linked_user is not None:
            return SignedIn(_touch(session, clock, link, linked_user))
        if route is Route.LINK_BY_EMAIL and by_email is not None:
            _link(
                session, clock, by_email, claims.issuer, claims.subject, claims.email, ip, "email"
            )
            return SignedIn(_touch_user(session, clock, by_email))
        user = _create_account(session, clock, claims, ip)
        return SignedIn(_touch_user(session, clock, user), created=True)
    except IntegrityError as exc:
        # Another request linked or created the same account between our read and our write.
        session.rollback()
        raise _clashed() from exc


def _clashed() -> Conflict:
    return Conflict(_("This sign-in clashed with another one. Start again."))


def _field_label(field: str) -> str:
    if field == "display_name":
        return str(_("name"))
    if field == "email":
        return str(_("email address"))
    return field


def details_refused(error: ValidationFailed) -> UpstreamLoginFailed:
    """Return the error for account details from the provider that our checks refuse."""
    problems = "; ".join(
        f"{_field_label(field)}: {' '.join(messages)}" for field, messages in error.errors.items()
    )
    return UpstreamLoginFailed(
        _(
            "%(name)s sent account details that cannot open a Yunshi account (%(problems)s). "
            "Correct them at %(name)s and start again, or sign up here with your email address.",
            name=provider_name(),
            problems=problems,
        )
    )


def _touch(session: Session, clock: Clock, link: UpstreamIdentity, user: User) -> User:
    link.last_login_at = clock.now()
    return _touch_user(session, clock, user)


def _touch_user(session: Session, clock: Clock, user: User) -> User:
    user.last_login_at = clock.now()
    session.commit()
    return user


def _create_account(session: Session, clock: Clock, claims: UpstreamClaims, ip: str | None) -> User:
    """Add a confirmed account for a verified upstream address, with a password nobody knows."""
    try:
        # The accounts part's own constructor: same checks and uniqueness as a sign-up.
        user = accounts.add_confirmed_user(
            session,
            clock,
            None,
            email=str(claims.email),
            display_name=display_name_for(claims),
            via=claims.issuer,
            ip=ip,
        )
    except ValidationFailed as exc:
        session.rollback()
        if "email" in exc.errors:
            # The address was valid and had no account when we looked: a sign-in took it since.
            raise _clashed() from exc
        raise details_refused(exc) from exc
    _link(session, clock, user, claims.issuer, claims.subject, claims.email, ip, "new_account")
    return user


def _link(
    session: Session,
    clock: Clock,
    user: User,
    issuer: str,
    subject: str,
    email: str | None,
    ip: str | None,
    method: str,
) -> UpstreamIdentity:
    """Add the link of an upstream account to user, with its audit entry (not committed)."""
    link = UpstreamIdentity(
        issuer=issuer,
        subject=subject,
        user_id=user.id,
        email=email,
        created_at=clock.now(),
        last_login_at=clock.now(),
    )
    session.add(link)
    session.flush()
    after = {"issuer": issuer, "subject": subject, "email": email, "method": method}
    record(
        session,
        clock,
        Actor(user.id, ip_address=ip),
        "user.upstream_linked",
        ("user", user.id),
        after=after,
    )
    return link


def _already_linked() -> Conflict:
    return Conflict(
        _(
            "This Yunshi account is already linked to another account at %(name)s.",
            name=provider_name(),
        )
    )


def link_with_password(
    session: Session, clock: Clock, pending: PendingLink, *, email: str, password: str, ip: str
) -> User:
    """Check a Yunshi password (under the sign-in throttle) and link the pending account to it."""
    user = accounts.log_in(session, clock, email=email, password=password, ip=ip)
    link = find_link(session, pending.issuer, pending.subject)
    if link is not None:
        if link.user_id != user.id:
            raise Conflict(
                _(
                    "That %(name)s account is already linked to another Yunshi account.",
                    name=provider_name(),
                )
            )
        return _touch(session, clock, link, user)
    taken = session.scalar(
        sa.select(UpstreamIdentity.id).where(
            UpstreamIdentity.user_id == user.id, UpstreamIdentity.issuer == pending.issuer
        )
    )
    if taken is not None:
        raise _already_linked()
    try:
        _link(session, clock, user, pending.issuer, pending.subject, pending.email, ip, "password")
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise _already_linked() from exc
    return user
