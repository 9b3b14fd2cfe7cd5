"""Helpers of the payment tests: the app's gateway on the run's localstripe, firms and cards.

Test modules import the `stripe` fixture from here; it points the shared app's gateway at the
localstripe fixture for one test and back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from billing.payments import services as cards
from billing.payments.gateway import StripeConnection, stripe_gateway
from billing.payments.models import PaymentMethod
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.firms.models import SmeProfile, UsccStatus
from marketplace.firms.uscc import make_uscc
from marketplace.orgs.models import Organization, OrgKind, Role
from tests.factories import make_member, make_org
from tests.localstripe import TEST_SECRET_KEY, LocalStripe

PUBLISHABLE_KEY = "pk_test_yunshi"
REGISTERED = datetime(2026, 2, 1, tzinfo=UTC)
# localstripe's test cards: one it saves, one it declines when a SetupIntent is confirmed.
VISA = "pm_card_visa"
DECLINED = "pm_card_visa_chargeDeclined"


@pytest.fixture
def stripe(app: Flask, localstripe: LocalStripe) -> Iterator[StripeConnection]:
    """Point the app's Stripe gateway at the run's localstripe for one test."""
    connection = StripeConnection(
        api_key=TEST_SECRET_KEY,
        api_base=localstripe.url,
        publishable_key=PUBLISHABLE_KEY,
        js_url=localstripe.js_url,
    )
    previous = stripe_gateway.connect(app, connection)
    yield connection
    if previous is not None:
        stripe_gateway.connect(app, previous)


def registered_firm(
    role: str = Role.OWNER, status: str = UsccStatus.VALID
) -> tuple[Organization, object]:
    """Add an SME with a registered profile and a member in role; return both."""
    org = make_org(OrgKind.SME)
    person = make_member(org, role=role)
    session = Session.object_session(org)
    assert session is not None
    session.add(
        SmeProfile(
            organization_id=org.id,
            legal_name=f"{org.name}有限公司",
            uscc=make_uscc("9", "1", "350100", f"P{org.id:07d}"),
            uscc_status=status,
            legal_form="enterprise",
            region_code="350100",
            industry_code="software_it",
            staff_count=40,
            size_class="small",
            size_standard_id="MIIT-2011-300",
            classified_at=REGISTERED,
            created_at=REGISTERED,
            updated_at=REGISTERED,
        )
    )
    session.flush()
    return org, person


def confirmed_setup_intent(
    session: Session, clock: Clock, org_id: int, payment_method: str = VISA
) -> str:
    """Start a card setup for the firm and confirm it as Stripe.js would; return its id."""
    intent = cards.start_card_setup(session, clock, org_id)
    stripe_gateway.client().v1.setup_intents.confirm(intent.id, {"payment_method": payment_method})
    return intent.id


def saved_card(session: Session, clock: Clock, org_id: int) -> PaymentMethod:
    """Save a Visa test card for the firm through the real flow; return its row."""
    setup_intent_id = confirmed_setup_intent(session, clock, org_id)
    return cards.add_card(session, clock, Actor(None), org_id, setup_intent_id)
