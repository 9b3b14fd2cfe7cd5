"""A world for the provider's tests: a vendor app with its client, a firm subscribed to it,
an owner holding a seat and a member without one; and a PKCE authorization request.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from billing.models import Subscription
from billing.services.seats import assign_seat
from billing.services.subscriptions import subscribe
from catalog.models import Listing, Plan
from catalog.pricing import FlatFee, PlanPrice
from marketplace.accounts.models import User
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.orgs.models import Organization, OrgKind, Role
from sso.provider.apps import create_app_client
from sso.provider.models import AppClient
from tests.billing.conftest import TEAM, add_plan
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_org, make_user
from tests.sessions import sign_in

REDIRECT_URI = "https://app.example/callback"
POST_LOGOUT_URI = "https://app.example/bye"
ACTOR = Actor(None)
FLAT = PlanPrice((FlatFee(10000),))


@dataclass
class AppWorld:
    """A vendor app, its client and secret, and a firm using it."""

    vendor: Organization
    listing: Listing
    plan: Plan
    app_client: AppClient
    client_secret: str
    firm: Organization
    owner: User
    member: User
    subscription: Subscription
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def client_id(self) -> str:
        """Return the app's public client id."""
        return self.app_client.client_id


def make_app(
    session: Session, clock: Clock, *, price: PlanPrice = TEAM
) -> tuple[Organization, Listing, Plan, AppClient, str]:
    """Publish a listing with a plan and give it an app client."""
    vendor = make_org(OrgKind.VENDOR)
    listing = publish_listing(vendor, price=price)
    plan = add_plan(listing, price, auto_activate=True)
    issued = create_app_client(
        session,
        clock,
        listing,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI],
        initiate_login_uri="https://app.example/login",
    )
    session.commit()
    return vendor, listing, plan, issued.client, issued.client_secret


def make_world(session: Session, clock: Clock, *, price: PlanPrice = TEAM) -> AppWorld:
    """Make an app and a firm subscribed to it (auto-activated), the owner holding a seat."""
    vendor, listing, plan, app_client, secret = make_app(session, clock, price=price)
    firm = make_org(OrgKind.SME)
    owner = make_member(firm, make_user(), Role.OWNER)
    member = make_member(firm, make_user(), Role.MEMBER)
    subscription = subscribe(session, clock, ACTOR, firm.id, plan.id, seats=2)
    if subscription.seats and price is TEAM:
        assign_seat(session, clock, ACTOR, subscription, owner.id)
    return AppWorld(vendor, listing, plan, app_client, secret, firm, owner, member, subscription)


@dataclass(frozen=True)
class Pkce:
    """A PKCE verifier and its S256 challenge."""

    verifier: str
    challenge: str


def signed_in_world(client: FlaskClient, session: Session, clock: Clock) -> AppWorld:
    """Make an app world and sign its owner in on the client."""
    world = make_world(session, clock)
    sign_in_now(client, world.owner, clock)
    return world


def new_pkce() -> Pkce:
    """Return a fresh verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_query(world: AppWorld, pkce: Pkce, **overrides: str | None) -> dict[str, str]:
    """Return the query of a good authorization request, with overrides (None drops one)."""
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": world.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email",
        "state": "st-" + secrets.token_urlsafe(8),
        "nonce": "n-" + secrets.token_urlsafe(8),
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    query.update(overrides)
    return {k: v for k, v in query.items() if v is not None}


def sign_in_now(client: FlaskClient, user: User, clock: Clock) -> None:
    """Sign user in on the client as a password sign-in at the clock's now would."""
    sign_in(client, user, signed_in_at=clock.now())


def redirect_params(location: str) -> dict[str, str]:
    """Return the query parameters of a redirect's Location."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def allow(client: FlaskClient, query: dict[str, str]) -> Any:
    """Answer the consent page with Allow, as the browser would post it."""
    page = client.get("/oauth/authorize", query_string=query)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        "/oauth/authorize",
        query_string=query,
        data={"csrf_token": token, "decision": "allow"},
    )


def csrf_token(html: str) -> str:
    """Return the CSRF token of the first form on a page."""
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def code_for(client: FlaskClient, world: AppWorld, pkce: Pkce, **overrides: str | None) -> str:
    """Run the authorization request to its code, consenting on the way."""
    query = authorize_query(world, pkce, **overrides)
    response = client.get("/oauth/authorize", query_string=query)
    if response.status_code == 200:
        response = allow(client, query)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    params = redirect_params(response.headers["Location"])
    assert "code" in params, params
    return params["code"]


def exchange(client: FlaskClient, world: AppWorld, code: str, verifier: str) -> TestResponse:
    """Exchange a code at the token endpoint with the client's secret in a Basic header."""
    return token_request(client, world, code=code, code_verifier=verifier)


def token_request(client: FlaskClient, world: AppWorld, **form: str) -> TestResponse:
    """Post an authorization-code token request as the app, form fields added or replaced."""
    data = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI, **form}
    return client.post("/oauth/token", data=data, headers=app_auth(world))


def issue_tokens(client: FlaskClient, world: AppWorld, **overrides: str | None) -> dict[str, Any]:
    """Run the code flow (authorization overrides as in authorize_query); return the tokens."""
    pkce = new_pkce()
    answer = exchange(client, world, code_for(client, world, pkce, **overrides), pkce.verifier)
    assert answer.status_code == 200, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def refresh(client: FlaskClient, world: AppWorld, token: str) -> TestResponse:
    """Post a refresh-token grant for the token as the app."""
    return client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=app_auth(world),
    )


def introspect(client: FlaskClient, world: AppWorld, token: str) -> TestResponse:
    """Ask the introspection endpoint about a token as the app."""
    return client.post("/oauth/introspect", data={"token": token}, headers=app_auth(world))


def userinfo(client: FlaskClient, token: str) -> TestResponse:
    """Call the userinfo endpoint with the access token as a Bearer header."""
    return client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})


def verified_claims(client: FlaskClient, id_token: str) -> dict[str, Any]:
    """Verify an ID token against the provider's published /jwks; return its claims."""
    keys = KeySet.import_key_set(client.get("/jwks").get_json())
    return dict(jwt.decode(id_token, keys, algorithms=["RS256"]).claims)


def app_auth(world: AppWorld) -> dict[str, str]:
    """Return the Basic Authorization header of the world's app client."""
    return basic_auth(world.client_id, world.client_secret)


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """Return an HTTP Basic Authorization header for a client."""
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}
