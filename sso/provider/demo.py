"""Demo single sign-on for `make run`: a demo firm opens the demo vendor app from Yunshi.

The demo CRM gets an app client whose addresses point at examples/vendor_app on port 5001,
with a fixed, published client id and secret that scripts/run-dev hands to that app. The
first demo firm subscribes to the CRM's team plan and its owner holds a seat, so signing in
as that owner and pressing "Open app" on the subscription runs the whole flow.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.services.seats import assign_seat
from billing.services.subscriptions import activate, subscribe
from catalog.demo_listings import HAILU
from catalog.models import Listing, Plan
from marketplace.accounts.models import User
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.demo import FIRMS
from marketplace.orgs.models import Membership, Organization, OrgKind, Role
from sso.credentials import digest
from sso.provider.apps import create_app_client

DEMO_LISTING_SLUG = "crm"
DEMO_PLAN_CODE = "team"
DEMO_SEATS = 2
DEMO_APP_URL = "http://127.0.0.1:5001"
# Published demo credentials, like the demo passwords; scripts/run-dev passes the same pair.
DEMO_CLIENT_ID = "ysa_demo_vendor_app"
DEMO_CLIENT_SECRET = "yss_demo-vendor-app-secret"  # noqa: S105 (published demo credential)


def _demo_listing(session: Session) -> Listing | None:
    """Return the demo CRM of its demo vendor, if the demo catalog has it."""
    return session.scalar(
        sa.select(Listing)
        .join(Organization, Organization.id == Listing.vendor_id)
        .where(
            Organization.name == HAILU,
            Organization.kind == OrgKind.VENDOR,
            Listing.slug == DEMO_LISTING_SLUG,
            Listing.sandbox.is_(False),
        )
    )


def _demo_owner(session: Session) -> Membership | None:
    """Return the first demo firm's owner membership, if that firm was loaded."""
    return session.scalar(
        sa.select(Membership)
        .join(User, User.id == Membership.user_id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            User.email == FIRMS[0].owner_email,
            Membership.role == Role.OWNER,
            Organization.kind == OrgKind.SME,
        )
    )


def _team_plan(session: Session, listing: Listing) -> Plan:
    """Return the newest version of the listing's team plan."""
    plan = session.scalars(
        sa.select(Plan)
        .where(Plan.listing_id == listing.id, Plan.code == DEMO_PLAN_CODE)
        .order_by(Plan.version.desc())
    ).first()
    if plan is None:
        raise LookupError(f"The demo listing has no {DEMO_PLAN_CODE!r} plan.")
    return plan


def _register_demo_app(session: Session, clock: Clock, listing: Listing) -> None:
    """Give the listing the demo app's client, with the fixed id and secret."""
    issued = create_app_client(
        session,
        clock,
        listing,
        redirect_uris=[DEMO_APP_URL + "/callback"],
        post_logout_redirect_uris=[DEMO_APP_URL + "/"],
        initiate_login_uri=DEMO_APP_URL + "/login",
    )
    issued.client.client_id = DEMO_CLIENT_ID
    issued.client.client_secret_hash = digest(DEMO_CLIENT_SECRET)


def _subscribe_owner(session: Session, clock: Clock, listing: Listing, owner: Membership) -> None:
    """Subscribe the owner's firm to the team plan, start it, and give the owner a seat."""
    firm_id = owner.organization_id
    plan = _team_plan(session, listing)
    subscription = subscribe(
        session, clock, Actor(owner.user_id, firm_id), firm_id, plan.id, seats=DEMO_SEATS
    )
    activate(session, clock, Actor(None), listing.vendor_id, subscription.id, sandbox=False)
    assign_seat(session, clock, Actor(owner.user_id, firm_id), subscription, owner.user_id)


def load_sso_demo(session: Session, clock: Clock) -> None:
    """Register the demo vendor app and let the first demo firm's owner open it."""
    listing, owner = _demo_listing(session), _demo_owner(session)
    if listing is None or owner is None:
        return
    _register_demo_app(session, clock, listing)
    session.commit()
    _subscribe_owner(session, clock, listing, owner)
    session.commit()
