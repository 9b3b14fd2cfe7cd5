"""The firm's subscription pages: seats, plan, cancelling, usage (checkout: test_checkout_pages)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import PendingCharge, Subscription, SubscriptionStatus, UsageEvent
from billing.services import seats
from billing.services import subscriptions as subs
from catalog.models import Listing, Plan, PlanStatus
from catalog.pricing import Aggregation, FlatFee, MeteredPrice, PlanPrice, PriceModel, SeatFee
from marketplace.accounts.models import User
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization, OrgKind, Role
from tests.billing.conftest import ACTOR, BUSINESS, TEAM, add_plan
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_org
from tests.sessions import sign_in

# ¥100 a month flat, ¥30 a seat for 1 to 50 seats, API calls at ¥0.02 each.
METERED_TEAM = PlanPrice(
    (
        FlatFee(10000),
        SeatFee(3000, 1, 50),
        MeteredPrice("api_calls", Aggregation.SUM, PriceModel.PER_UNIT, unit_fen=2),
    )
)


def _firm(
    client: FlaskClient, role: str = Role.OWNER, lang: str = "en"
) -> tuple[Organization, User]:
    firm = make_org(OrgKind.SME)
    person = make_member(firm, role=role)
    sign_in(client, person, firm, lang=lang)
    return firm, person


def _listing(price: PlanPrice = TEAM) -> tuple[Listing, Plan]:
    listing = publish_listing(price=price)
    return listing, add_plan(listing, price, code="team")


def _subscriptions(session: Session, firm: Organization) -> list[Subscription]:
    stmt = sa.select(Subscription).where(Subscription.organization_id == firm.id)
    return list(session.scalars(stmt))


def _active(
    session: Session,
    clock: FrozenClock,
    firm: Organization,
    price: PlanPrice = TEAM,
    **fields: object,
) -> Subscription:
    listing = publish_listing(price=price)
    plan = add_plan(listing, price, code="team", auto_activate=True, **fields)
    return subs.subscribe(session, clock, ACTOR, firm.id, plan.id, 2)


def _page(client: FlaskClient, subscription: Subscription) -> str:
    response = client.get(f"/subscriptions/{subscription.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- Subscribing -------------------------------------------------------------------------


def test_the_listing_page_offers_a_subscribe_link_per_plan_to_every_visitor(
    client: FlaskClient,
) -> None:
    listing, plan = _listing()

    page = client.get(f"/services/{listing.vendor_id}/{listing.slug}").get_data(as_text=True)

    assert f'href="/subscribe/{plan.id}"' in page
    assert 'data-testid="subscribe-team"' in page


def test_an_anonymous_visitor_signs_in_first_and_comes_back_to_the_plan(
    client: FlaskClient,
) -> None:
    _listing_row, plan = _listing()

    response = client.get(f"/subscribe/{plan.id}")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/subscribe/{plan.id}"


def test_a_plain_member_a_vendor_and_a_person_without_a_firm_are_refused_clearly(
    client: FlaskClient, session: Session
) -> None:
    _listing_row, plan = _listing()
    expectations = {
        Role.MEMBER: "Only the firm&#39;s owner or an admin can subscribe",
        Role.BILLING: "Only the firm&#39;s owner or an admin can subscribe",
    }
    for role, message in expectations.items():
        firm, _person = _firm(client, role=role)
        response = client.post(f"/subscribe/{plan.id}", data={"seats": "1"})
        assert response.status_code == 403
        assert message in response.get_data(as_text=True)
        assert _subscriptions(session, firm) == []

    vendor = make_org(OrgKind.VENDOR)
    sign_in(client, make_member(vendor), vendor)
    response = client.get(f"/subscribe/{plan.id}")
    assert response.status_code == 403
    assert "Only a firm (SME) can subscribe" in response.get_data(as_text=True)

    firm_less = make_member(make_org(OrgKind.SME))
    sign_in(client, firm_less)
    session.execute(sa.text("DELETE FROM memberships WHERE user_id = :id"), {"id": firm_less.id})
    response = client.get(f"/subscribe/{plan.id}")
    assert response.status_code == 403
    assert "Register your firm first" in response.get_data(as_text=True)


def test_a_plan_not_on_sale_is_not_found(client: FlaskClient) -> None:
    _firm(client)
    listing, _plan = _listing()
    draft = add_plan(listing, BUSINESS, code="business", status=PlanStatus.DRAFT, published_at=None)

    assert client.get(f"/subscribe/{draft.id}").status_code == 404
    assert client.post(f"/subscribe/{draft.id}", data={"seats": "1"}).status_code == 404
    assert client.get("/subscribe/2000000000").status_code == 404


# --- The list and the page of a subscription ---------------------------------------------


def test_every_member_sees_the_firms_subscriptions_with_status_and_seats(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    member = make_member(firm, role=Role.MEMBER)
    sign_in(client, member, firm)

    page = client.get("/subscriptions").get_data(as_text=True)

    assert f'data-testid="subscription-{subscription.id}"' in page
    assert "Active" in page and "0 of 2" in page
    assert "2026-04-02 09:30" in page  # the period end, in Beijing time


def test_an_empty_list_invites_the_firm_to_browse(client: FlaskClient) -> None:
    _firm(client)

    page = client.get("/subscriptions").get_data(as_text=True)

    assert 'data-testid="no-subscriptions"' in page


def test_another_firms_subscription_is_not_found_on_any_of_its_pages(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    other = make_org(OrgKind.SME)
    make_member(other)
    theirs = _active(session, clock, other)
    _firm(client)

    base = f"/subscriptions/{theirs.id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/cancel").status_code == 404
    for action, data in (
        ("seats", {"seats-seats": "5"}),
        ("plan", {"plan-plan": str(theirs.plan_id)}),
        ("seats/assign", {"holder-user_id": "1"}),
        ("seats/unassign", {"holder-user_id": "1"}),
        ("cancel", {"when": "now"}),
        ("keep", {}),
    ):
        assert client.post(f"{base}/{action}", data=data).status_code == 404, action
    assert theirs.status == SubscriptionStatus.ACTIVE and theirs.seats == 2


def test_the_page_shows_usage_per_day_as_a_chart_and_estimates_the_next_invoice(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm, METERED_TEAM)
    start = clock.now()
    for n, (days, quantity) in enumerate(((0, 100), (0, 50), (2, 250))):
        session.add(
            UsageEvent(
                vendor_id=subscription.vendor_id,
                subscription_id=subscription.id,
                dimension="api_calls",
                quantity=Decimal(quantity),
                occurred_at=start + timedelta(days=days, hours=1),
                idempotency_key=f"k{n}",
                received_at=start,
            )
        )
    session.flush()
    clock.advance(timedelta(days=3))

    page = _page(client, subscription)

    assert 'data-testid="usage-total-api_calls">400<' in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert '<td>2026-03-02</td><td class="text-end">150</td>' in page
    assert '<td>2026-03-04</td><td class="text-end">250</td>' in page
    # The first invoice is still to be made: this period's ¥100 flat and 2 seats at ¥30.
    assert 'data-testid="estimate-total">¥160.00<' in page


def test_the_estimate_after_the_first_invoice_adds_usage_and_prorations(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm, METERED_TEAM)
    subscription.billed_boundary_at = subscription.current_period_start
    session.add(
        UsageEvent(
            vendor_id=subscription.vendor_id,
            subscription_id=subscription.id,
            dimension="api_calls",
            quantity=Decimal(1000),
            occurred_at=clock.now(),
            idempotency_key="k",
            received_at=clock.now(),
        )
    )
    session.flush()
    clock.advance(timedelta(days=1))
    client.post(f"/subscriptions/{subscription.id}/seats", data={"seats-seats": "3"})
    charge = session.scalars(sa.select(PendingCharge)).one()

    page = _page(client, subscription)

    # Next period ¥100 + 3 × ¥30, usage 1,000 × ¥0.02, plus the seat added for 30 of 31 days.
    total = 10000 + 9000 + 2000 + charge.amount_fen
    assert charge.amount_fen == 2903
    assert f'data-testid="estimate-total">¥{total // 100:,}.{total % 100:02d}<' in page
    assert "1,000 call used so far" in page


def test_the_history_lists_what_happened_to_the_subscription(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)

    page = _page(client, subscription)

    assert "Subscribed" in page and "Service started" in page


def test_a_plain_member_sees_the_page_without_any_button_to_change_it(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    sign_in(client, make_member(firm, role=Role.MEMBER), firm)

    page = _page(client, subscription)

    for marker in ("seats-form", "plan-form", "cancel-link", 'data-testid="assign"'):
        assert marker not in page


# --- Seats -------------------------------------------------------------------------------


def test_the_owner_gives_a_seat_to_a_member_and_takes_it_back(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    colleague = make_member(firm, role=Role.MEMBER)
    url = f"/subscriptions/{subscription.id}/seats"

    given = client.post(f"{url}/assign", data={"holder-user_id": str(colleague.id)})

    assert given.status_code == 302
    assert seats.holds_seat(subscription, colleague.id)
    assert "1 of 2" in _page(client, subscription)
    taken = client.post(f"{url}/unassign", data={"holder-user_id": str(colleague.id)})
    assert taken.status_code == 302
    assert not seats.holds_seat(subscription, colleague.id)


def test_a_seat_for_an_outsider_a_full_subscription_or_no_one_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, owner = _firm(client)
    subscription = _active(session, clock, firm)
    outsider = make_member(make_org(OrgKind.SME))
    url = f"/subscriptions/{subscription.id}/seats"

    stranger = client.post(f"{url}/assign", data={"holder-user_id": str(outsider.id)})
    nobody = client.post(f"{url}/assign", data={"holder-user_id": "x"})
    for person in (owner, make_member(firm)):
        client.post(f"{url}/assign", data={"holder-user_id": str(person.id)})
    full = client.post(f"{url}/assign", data={"holder-user_id": str(make_member(firm).id)})
    free_nobody = client.post(f"{url}/unassign", data={"holder-user_id": str(outsider.id)})

    assert stranger.status_code == 422
    assert "This person is not a member of the firm." in stranger.get_data(as_text=True)
    assert nobody.status_code == 422
    assert full.status_code == 422
    assert "Every seat is taken" in full.get_data(as_text=True)
    assert free_nobody.status_code == 422
    assert len(seats.current_assignments(subscription)) == 2


def test_the_owner_adds_seats_prorated_and_bad_numbers_change_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, owner = _firm(client)
    subscription = _active(session, clock, firm)
    client.post(
        f"/subscriptions/{subscription.id}/seats/assign", data={"holder-user_id": str(owner.id)}
    )
    url = f"/subscriptions/{subscription.id}/seats"

    for bad in ("", "many", "-1", "51", "0", "2"):
        response = client.post(url, data={"seats-seats": bad})
        assert response.status_code == 422, bad
    added = client.post(url, data={"seats-seats": "5"})

    assert added.status_code == 302
    assert subscription.seats == 5
    [charge] = session.scalars(sa.select(PendingCharge)).all()
    assert charge.description_key == "seats_added" and charge.amount_fen == 9000


def test_a_pending_subscription_cannot_change_seats_and_says_why(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    _listing_row, plan = _listing()
    subs.subscribe(session, clock, ACTOR, firm.id, plan.id, 1)  # pending: no auto-activation
    [subscription] = _subscriptions(session, firm)

    response = client.post(
        f"/subscriptions/{subscription.id}/seats", data={"seats-seats": "4"}, follow_redirects=True
    )

    assert "Only a trialing or active subscription can change plan or seats." in response.get_data(
        as_text=True
    )
    assert subscription.seats == 1


def test_a_billing_member_may_look_but_not_change_seats(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    sign_in(client, make_member(firm, role=Role.BILLING), firm)

    assert client.get(f"/subscriptions/{subscription.id}").status_code == 200
    assert (
        client.post(
            f"/subscriptions/{subscription.id}/seats", data={"seats-seats": "4"}
        ).status_code
        == 403
    )
    assert subscription.seats == 2


# --- Plan changes ------------------------------------------------------------------------


def test_an_upgrade_applies_now_and_a_downgrade_waits_for_the_period_end(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    team = subscription.plan
    business = add_plan(subscription.listing, BUSINESS, code="business")
    url = f"/subscriptions/{subscription.id}/plan"

    page = _page(client, subscription)
    assert 'data-testid="plan-choice-business"' in page
    assert "Upgrade: applies now, prorated" in page
    clock.advance(timedelta(days=10))
    upgraded = client.post(url, data={"plan-plan": str(business.id)})

    assert upgraded.status_code == 302
    assert subscription.plan_id == business.id
    assert "Downgrade: applies at the end of the period" in _page(client, subscription)
    downgraded = client.post(url, data={"plan-plan": str(team.id)})
    assert downgraded.status_code == 302
    assert subscription.plan_id == business.id and subscription.scheduled_plan_id == team.id
    assert 'data-testid="scheduled-plan"' in _page(client, subscription)


def test_a_plan_change_to_nothing_or_to_another_service_is_refused_on_the_field(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    _other_listing, elsewhere = _listing(BUSINESS)
    url = f"/subscriptions/{subscription.id}/plan"
    plan_before = subscription.plan_id

    for data in ({}, {"plan-plan": "abc"}, {"plan-plan": str(elsewhere.id)}):
        response = client.post(url, data=data)
        assert response.status_code == 422, data
    message = client.post(url, data={"plan-plan": str(elsewhere.id)}).get_data(as_text=True)
    assert "Choose a plan of the same service." in message
    assert subscription.plan_id == plan_before


# --- Cancelling --------------------------------------------------------------------------


def test_cancel_at_period_end_then_keep_the_subscription(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    url = f"/subscriptions/{subscription.id}"

    confirm = client.get(f"{url}/cancel")
    scheduled = client.post(f"{url}/cancel", data={"when": "period_end", "reason": "too dear"})

    assert confirm.status_code == 200 and 'data-testid="cancel-form"' in confirm.get_data(
        as_text=True
    )
    assert scheduled.status_code == 302
    assert subscription.cancel_at_period_end and subscription.status == SubscriptionStatus.ACTIVE
    assert 'data-testid="ending-notice"' in _page(client, subscription)
    kept = client.post(f"{url}/keep")
    assert kept.status_code == 302 and not subscription.cancel_at_period_end


def test_cancel_now_ends_the_subscription_with_the_reason(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)

    response = client.post(
        f"/subscriptions/{subscription.id}/cancel", data={"when": "now", "reason": " moving on "}
    )

    assert response.status_code == 302
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancel_reason == "moving on"
    page = _page(client, subscription)
    assert "cancel-link" not in page and "Cancelled" in page


def test_bad_cancel_requests_change_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    url = f"/subscriptions/{subscription.id}"

    too_long = client.post(f"{url}/cancel", data={"when": "now", "reason": "x" * 501})
    no_choice = client.post(f"{url}/cancel", data={"when": "tomorrow"})
    nothing_to_keep = client.post(f"{url}/keep", follow_redirects=True)

    assert too_long.status_code == 422
    assert "Use at most 500 characters." in too_long.get_data(as_text=True)
    assert no_choice.status_code == 422
    assert "This subscription is not scheduled to end." in nothing_to_keep.get_data(as_text=True)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert not subscription.cancel_at_period_end


def test_a_pending_subscription_can_only_be_cancelled_now(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    _listing_row, plan = _listing()
    subs.subscribe(session, clock, ACTOR, firm.id, plan.id, 1)  # pending: no auto-activation
    [subscription] = _subscriptions(session, firm)
    url = f"/subscriptions/{subscription.id}/cancel"

    assert 'value="period_end"' not in client.get(url).get_data(as_text=True)
    assert client.post(url, data={"when": "period_end"}).status_code == 422
    assert client.post(url, data={"when": "now"}).status_code == 302
    assert subscription.status == SubscriptionStatus.CANCELLED


def test_a_plain_member_cannot_cancel(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    firm, _owner = _firm(client)
    subscription = _active(session, clock, firm)
    sign_in(client, make_member(firm, role=Role.MEMBER), firm)

    assert client.get(f"/subscriptions/{subscription.id}/cancel").status_code == 403
    assert (
        client.post(f"/subscriptions/{subscription.id}/cancel", data={"when": "now"}).status_code
        == 403
    )
    assert subscription.status == SubscriptionStatus.ACTIVE
