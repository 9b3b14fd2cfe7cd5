"""Tenant isolation over the whole URL map: no outsider reads or changes anything of firm B.

Every rule of the app is called, with each of its methods, by each kind of outsider: firm
A's owner, admin and plain member acting for A, the admin of a park firm B never asked to
join, a vendor's admin and an anonymous visitor. Each URL variable is filled with firm B's
values (the table URL_VALUES says which), and posted forms carry firm B's ids too.

- An id of firm B's answers 403 or 404, and the same as an id that exists nowhere, so not
  even the existence of B's rows shows. Tokens are not compared so: they cannot be guessed,
  and the invitation page rightly tells the holder of a real link that it went elsewhere.
- No answer, whatever its status, carries firm B's markers (names, credit code, emails,
  its park request's message), not even a public page.
- Firm B's rows stay as they were, column for column; no audit entry or mail about firm B
  appears; the session never ends up acting for firm B.

Each call runs in a savepoint that is rolled back afterwards, so every call meets the same
world. A rule whose variable the table does not know fails the matrix: extend the table.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter, Rule
from werkzeug.test import TestResponse

from tests.marketplace.conftest import (
    FirmRecords,
    Person,
    RolledBack,
    World,
    act_as,
    acting_org_id,
    firm_rows,
    firm_trail,
)

IGNORED_ENDPOINTS = frozenset({"static", "bootstrap.static"})
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
# Pages that answer without signing in. Even they never show firm B to an outsider.
PUBLIC_ENDPOINTS = frozenset(
    {
        "web.home",
        "web.healthz",
        "web.set_language",
        "accounts.signup",
        "accounts.login",
        "accounts.logout",
        "accounts.confirm",
        "accounts.forgot_password",
        "accounts.reset_password",
        "oauth.token",
        "jwks.jwks",
        # The OpenID provider's endpoints: clients authenticate, bearers present tokens.
        "provider.discovery",
        "provider.authorize",
        "provider.userinfo",
        "provider.revoke",
        "provider.introspect",
        "provider.logout",
        # Sign-in through the upstream provider (404 while none is configured).
        "upstream.start",
        "upstream.callback",
        "upstream.link",
        "api_docs.openapi_json",
        "api_docs.docs",
        "storefront.services",
        "storefront.service",
        "storefront.vendor",
        # Stripe signs its events; without a valid signature the answer is 400.
        "stripe_webhooks.receive",
    }
)

ValuesOfB = Callable[[FirmRecords], list[object]]
# (blueprint, URL variable) -> the values of firm B that variable is called with. A park id
# is public (any firm may ask any park), so firm B's own organization id stands in for it:
# a firm is no park, and must not be found as one. Firm B, an SME, has no API clients: its
# organization id stands in for one, and must not be found as one either.
URL_VALUES: dict[tuple[str, str], ValuesOfB] = {
    ("console", "org_id"): lambda b: [b.org_id],
    ("console", "user_id"): lambda b: list(b.user_ids),
    ("orgs", "membership_id"): lambda b: list(b.membership_ids),
    ("orgs", "invitation_id"): lambda b: [b.invitation_id],
    ("orgs", "token"): lambda b: [b.invitation_token],
    ("accounts", "token"): lambda b: [b.invitation_token],
    ("firms", "park_id"): lambda b: [b.org_id],
    ("firms", "membership_id"): lambda b: [b.park_membership_id],
    ("sso", "api_client_id"): lambda b: [b.org_id],
    # Firm B sells nothing: its organization id must not be found as a vendor's storefront.
    ("storefront", "vendor_id"): lambda b: [b.org_id],
    ("storefront", "slug"): lambda b: ["app"],
    ("catalog_review", "listing_id"): lambda b: [b.org_id],
    ("catalog_api", "listing_id"): lambda b: [b.org_id],
    ("catalog_api", "code"): lambda b: ["standard"],
    # Operator pages about a sandbox firm: W's test firm, and firm B, which is none.
    ("billing_operator", "org_id"): lambda b: [b.billed.sandbox_firm_id, b.org_id],
    # Firm B's subscription to vendor W, and the sandbox one of W's test firm.
    ("subscriptions", "subscription_id"): lambda b: list(b.billed.subscription_ids),
    ("billing_api", "subscription_id"): lambda b: list(b.billed.subscription_ids),
    ("launch", "subscription_id"): lambda b: list(b.billed.subscription_ids),
    # Firm B sells nothing: its organization id must not be found as a listing with an app.
    ("app_client_api", "listing_id"): lambda b: [b.org_id],
    ("app_client_console", "listing_id"): lambda b: [b.org_id],
    # Firm B's people allowed no app: its organization id stands in for a consent id.
    ("connected_apps", "consent_id"): lambda b: [b.org_id],
    ("firm_apps", "org_id"): lambda b: [b.org_id],
    ("firm_apps", "subscription_id"): lambda b: list(b.billed.subscription_ids),
    # Firm B's own plan is on W's public storefront, which any firm may buy: the plan named
    # here is the sandbox plan only W's test firm may buy, and no one else may find.
    ("subscriptions", "plan_id"): lambda b: [b.billed.sandbox_plan_id],
    ("billing_vendor", "subscription_id"): lambda b: list(b.billed.subscription_ids),
    ("invoices", "invoice_id"): lambda b: [b.billed.invoice_id],
    ("invoices_vendor", "invoice_id"): lambda b: [b.billed.invoice_id],
    ("billing_invoices_operator", "invoice_id"): lambda b: [b.billed.invoice_id],
    # Firm B saved no card: its organization id stands in for one and must not be found.
    ("cards", "card_id"): lambda b: [b.org_id],
    # Firm B, an SME, has no webhook endpoints or deliveries: its ids stand in for them.
    ("webhooks", "endpoint_id"): lambda b: [b.org_id],
    ("webhooks", "delivery_id"): lambda b: [b.org_id],
    ("webhooks_api", "endpoint_id"): lambda b: [b.org_id],
    ("webhooks_api", "event_id"): lambda b: [b.org_id],
    # Park Q's subsidy program and firm B's enrollment in it; firm B and its vendor W have
    # no dealings with park P, whose admin must not find them either.
    ("subsidy_park", "program_id"): lambda b: [b.subsidy_ids[0]],
    ("subsidy_enrollment", "program_id"): lambda b: [b.subsidy_ids[0]],
    ("subsidy_enrollment", "enrollment_id"): lambda b: [b.subsidy_ids[1]],
    ("subsidy_enrollment", "firm_id"): lambda b: [b.org_id],
    ("subsidy_reports", "program_id"): lambda b: [b.subsidy_ids[0]],
    ("subsidy_reports", "firm_id"): lambda b: [b.org_id],
    ("subsidy_reports", "vendor_id"): lambda b: [b.billed.vendor_id],
    ("subsidy_reports", "year"): lambda b: [2026],
    ("subsidy_reports", "month"): lambda b: [3],
    ("subsidy_reports", "kind"): lambda b: ["announcement", "statement", "grants"],
    ("subsidy_reports", "fmt"): lambda b: ["csv", "xlsx"],
}
# Variables that name no row (a report's period, an export's kind and format): such a
# route is a plain page of the acting organization's own.
NOT_IDS = frozenset({("subsidy_reports", v) for v in ("year", "month", "kind", "fmt")})
NOWHERE_ID = 2_000_000_000
NOWHERE_TOKEN = "no-such-token-0123456789abcdefghijklmnopqrstuv"

# 401 is what an API route answers a browser session that brings no bearer token.
ID_STATUSES = frozenset({401, 403, 404})
TOKEN_STATUSES = frozenset({400, 401, 403, 404, 410})
PLAIN_STATUSES = frozenset({200, 302, 400, 401, 403, 404, 409, 410, 422})
SIGN_IN_STATUSES = frozenset({302, 401})

OUTSIDERS: dict[str, Callable[[World], Person | None]] = {
    "firm A's owner": lambda w: w.firm_a.people["owner"],
    "firm A's admin": lambda w: w.firm_a.people["admin"],
    "firm A's plain member": lambda w: w.firm_a.people["member"],
    "the admin of a park firm B did not ask to join": lambda w: w.park_p_admin,
    "a vendor's admin": lambda w: w.vendor_admin,
    "an anonymous visitor": lambda w: None,
}


class UnknownUrlVariable(Exception):
    """A rule has a variable the matrix cannot fill with firm B's values."""

    def __init__(self, rule: Rule, variable: str) -> None:
        blueprint = rule.endpoint.rpartition(".")[0]
        super().__init__(
            f"The route {rule.rule} ({rule.endpoint}) has the URL variable <{variable}>, which "
            f"the tenant-isolation matrix cannot fill. Add ({blueprint!r}, {variable!r}) to "
            "URL_VALUES in tests/marketplace/test_tenant_isolation_matrix.py with the ids of "
            "firm B's rows that this variable names, so the new route is covered."
        )


@dataclass(frozen=True)
class Call:
    """One method of one rule, with firm B's values, and the same rule with values of no one."""

    endpoint: str
    method: str
    path: str
    nowhere_path: str
    has_id: bool
    has_token: bool


def _nowhere(rule: Rule, variable: str) -> object:
    converter = rule._converters[variable]
    return NOWHERE_ID if isinstance(converter, IntegerConverter) else NOWHERE_TOKEN


def _path(rule: Rule, values: dict[str, object]) -> str:
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def matrix(app: Flask, firm: FirmRecords, table: dict[tuple[str, str], ValuesOfB]) -> list[Call]:
    """Return every call the matrix makes: each rule's methods with each value of firm's."""
    calls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        blueprint = rule.endpoint.rpartition(".")[0]
        choices = []
        for variable in sorted(rule.arguments):
            values_of = table.get((blueprint, variable))
            if values_of is None:
                raise UnknownUrlVariable(rule, variable)
            choices.append([(variable, value) for value in values_of(firm)])
        nowhere = _path(rule, {v: _nowhere(rule, v) for v in rule.arguments})
        converters = [rule._converters[v] for v in rule.arguments if (blueprint, v) not in NOT_IDS]
        has_id = any(isinstance(c, IntegerConverter) for c in converters)
        has_token = bool(converters) and not has_id
        for values, method in itertools.product(
            itertools.product(*choices), sorted((rule.methods or set()) - IGNORED_METHODS)
        ):
            path = _path(rule, dict(values))
            calls.append(Call(rule.endpoint, method, path, nowhere, has_id, has_token))
    return calls


def _form(firm: FirmRecords) -> dict[str, str]:
    """Return a form that fills every field the app's forms have, ids being firm B's."""
    return {
        "name": "Outsider Works",
        "email": "outsider@example.com",
        "admin_email": "outsider@example.com",
        "display_name": "Outsider",
        "role": "owner",
        "reason": "outsider",
        "note": "outsider",
        "confirm-note": "outsider",
        "reject-note": "outsider",
        "message": "outsider",
        "locale": "en",
        "lang": "en",
        "org_id": str(firm.org_id),
        "organization": str(firm.org_id),
        # The billing forms, aimed at firm B's subscription, seat holder, invoice.
        "seats": "7",
        "seats-seats": "7",
        "plan-plan": str(firm.billed.other_plan_id),
        "holder-user_id": str(firm.billed.seat_holder_id),
        "when": "now",
        "credit-amount": "1.00",
        "credit-reason": "outsider",
        "step": "month",
        "subscription": str(firm.billed.subscription_id),
        "subscription_id": str(firm.billed.subscription_id),
        "invoice_id": str(firm.billed.invoice_id),
        "firm_id": str(firm.billed.sandbox_firm_id),
        "plan_id": str(firm.billed.sandbox_plan_id),
    }


def _query(firm: FirmRecords) -> dict[str, object]:
    """Return a query string naming firm B, its subscription, and the month of its invoice."""
    return {
        "org_id": firm.org_id,
        "organization": firm.org_id,
        "subscription": firm.billed.subscription_id,
        "month": firm.billed.month,
    }


def _expected_statuses(call: Call, person: Person | None) -> frozenset[int]:
    if person is None and call.endpoint not in PUBLIC_ENDPOINTS:
        return SIGN_IN_STATUSES
    if call.has_id:
        return ID_STATUSES
    return TOKEN_STATUSES if call.has_token else PLAIN_STATUSES


def _status_problems(call: Call, person: Person | None, response: TestResponse) -> list[str]:
    status = response.status_code
    expected = _expected_statuses(call, person)
    problems = []
    if status not in expected:
        problems.append(f"answered {status}, expected one of {sorted(expected)}")
    location = response.headers.get("Location", "")
    signing_in = person is None and call.endpoint not in PUBLIC_ENDPOINTS
    if signing_in and status == 302 and urlsplit(location).path != "/login":
        problems.append(f"did not send the visitor to sign in (Location: {location!r})")
    return problems


def _marker_problems(response: TestResponse, firm: FirmRecords) -> list[str]:
    # A PDF is bytes, not text: decode leniently (its compressed text is not searched).
    body = response.get_data().decode("utf-8", "replace")
    shown = body + " " + response.headers.get("Location", "")
    return [f"shows firm B's {marker!r}" for marker in firm.markers if marker in shown]


@dataclass(frozen=True)
class Trace:
    """What firm B's rows, its trail and the session's acting organization look like."""

    rows: dict[str, list[tuple[object, ...]]]
    trail: tuple[int, int]
    acting_org_id: int | None


class Prober:
    """Make the matrix's calls against firm B as one person and say how each reached B."""

    def __init__(self, client: FlaskClient, session: Session, firm_b: FirmRecords) -> None:
        self.client, self.session, self.b = client, session, firm_b

    def problems(self, person: Person | None, calls: list[Call]) -> list[str]:
        """Make every call as person; return each way one reached firm B (empty if none)."""
        before = self._trace()
        problems = []
        for call in calls:
            found = self._problems_of(person, call, before)
            problems += [f"{call.method} {call.path} [{call.endpoint}] {p}" for p in found]
        problems += [f"after every call: {p}" for p in self._effects(self._trace(), before)]
        return problems

    def _trace(self) -> Trace:
        b = self.b
        return Trace(
            firm_rows(self.session, b), firm_trail(self.session, b), acting_org_id(self.client)
        )

    def send(self, person: Person | None, method: str, path: str) -> tuple[TestResponse, Trace]:
        """Make one call as person inside a savepoint, trace firm B, then undo the call."""
        with RolledBack(self.session):
            act_as(self.client, person)
            if method == "GET":
                query = _query(self.b)
                response = self.client.open(path, method=method, query_string=query)
            else:
                response = self.client.open(path, method=method, data=_form(self.b))
            return response, self._trace()

    def _problems_of(self, person: Person | None, call: Call, before: Trace) -> list[str]:
        try:
            response, trace = self.send(person, call.method, call.path)
        except Exception as error:  # a crash is a finding too: report the route, go on
            return [f"raised {error!r}"]
        found = _status_problems(call, person, response) + _marker_problems(response, self.b)
        if call.has_id:
            nowhere = self.send(person, call.method, call.nowhere_path)[0].status_code
            if nowhere != response.status_code:
                found.append(
                    f"answered {response.status_code} where an id of no one answers "
                    f"{nowhere}: firm B's id shows it exists"
                )
        return found + self._effects(trace, before)

    def _effects(self, trace: Trace, before: Trace) -> list[str]:
        found = []
        if trace.acting_org_id == self.b.org_id:
            found.append("left the session acting for firm B")
        changed = [name for name in before.rows if before.rows[name] != trace.rows[name]]
        if changed:
            found.append(f"changed firm B's {', '.join(changed)}")
        if trace.trail != before.trail:
            found.append(f"added audit entries or mails about firm B {before.trail}->{trace.trail}")
        return found


@pytest.fixture
def calls(app: Flask, world: World) -> list[Call]:
    """Every call of the matrix against firm B, failing loudly on a route it cannot fill."""
    try:
        return matrix(app, world.firm_b, URL_VALUES)
    except UnknownUrlVariable as error:
        pytest.fail(str(error))


@pytest.fixture
def prober(client: FlaskClient, session: Session, world: World) -> Prober:
    """A prober of firm B's data through the test client."""
    return Prober(client, session, world.firm_b)


@pytest.mark.parametrize("outsider", list(OUTSIDERS))
def test_no_route_lets_an_outsider_read_or_change_anything_of_firm_b(
    prober: Prober, world: World, calls: list[Call], outsider: str
) -> None:
    problems = prober.problems(OUTSIDERS[outsider](world), calls)

    assert not problems, f"{outsider} reached firm B:\n" + "\n".join(problems)


# Who may see firm B, and calls on which the prober must then report firm B's data: were
# the markers or the traces invisible to it, the matrix above would prove nothing.
INSIDERS: dict[str, tuple[Callable[[World], Person], list[tuple[str, str, str]]]] = {
    "firm B's owner": (
        lambda w: w.firm_b.people["owner"],
        [
            ("GET", "firms.profile", "shows firm B's"),
            ("GET", "orgs.members", "shows firm B's"),
            ("POST", "orgs.change_role", "changed firm B's memberships"),
            ("POST", "orgs.revoke_invitation", "changed firm B's invitations"),
            ("GET", "subscriptions.detail", "shows firm B's"),
            ("GET", "invoices.detail", "shows firm B's 'YS-2026-735102'"),
            ("GET", "invoices.pdf", "answered 200"),
            ("POST", "subscriptions.cancel", "changed firm B's subscriptions"),
            ("POST", "subscriptions.change_seats", "changed firm B's subscriptions"),
            ("POST", "subscriptions.unassign_seat", "changed firm B's seat_assignments"),
        ],
    ),
    "vendor W's admin": (
        lambda w: w.billing_vendor_admin,
        [
            ("GET", "billing_vendor.subscribers_page", "shows firm B's"),
            ("GET", "billing_vendor.subscriber_page", "shows firm B's"),
            ("GET", "invoices_vendor.vendor_detail", "shows firm B's 'YS-2026-735102'"),
            ("GET", "billing_vendor.statement_page", "shows firm B's 'YS-2026-735102'"),
        ],
    ),
    "the admin of the park firm B asked to join": (
        lambda w: w.park_q_admin,
        [
            ("GET", "firms.park_requests", "shows firm B's"),
            ("POST", "firms.reject_request", "changed firm B's park_memberships"),
        ],
    ),
    "the operator": (
        lambda w: w.operator_owner,
        [
            ("GET", "console.organization", "shows firm B's"),
            ("GET", "console.uscc_reviews", "shows firm B's"),
            ("POST", "console.suspend_organization", "changed firm B's organization"),
            ("POST", "console.deactivate_user", "changed firm B's users"),
            ("POST", "console.confirm_uscc", "added audit entries or mails about firm B"),
            ("GET", "billing_invoices_operator.operator_detail", "shows firm B's"),
            ("POST", "billing_invoices_operator.credit", "credit_notes"),
            ("POST", "billing_invoices_operator.void", "changed firm B's invoices"),
            ("POST", "billing_operator.create_test_clock", "changed firm B's test_clocks"),
        ],
    ),
}


@pytest.mark.parametrize("insider", list(INSIDERS))
def test_the_prober_reports_firm_b_data_to_those_entitled_to_it(
    prober: Prober, world: World, calls: list[Call], insider: str
) -> None:
    person_of, expected = INSIDERS[insider]
    endpoints = {endpoint for _, endpoint, _ in expected}

    problems = prober.problems(person_of(world), [c for c in calls if c.endpoint in endpoints])

    for method, endpoint, finding in expected:
        assert any(
            p.startswith(f"{method} ") and f"[{endpoint}]" in p and finding in p for p in problems
        ), f"{method} {endpoint}: no {finding!r} in\n" + "\n".join(problems)


def test_firm_a_sees_its_own_firm_and_people_on_its_pages(
    client: FlaskClient, world: World
) -> None:
    a = world.firm_a
    act_as(client, a.people["owner"])
    profile = client.get("/firm").get_data(as_text=True)
    act_as(client, a.people["owner"])
    members = client.get("/org/members").get_data(as_text=True)

    assert a.legal_name in profile and a.uscc in profile
    assert all(email in members for email in (*a.emails, a.invitee_email))


def test_the_matrix_calls_every_method_of_every_route_with_each_of_firm_b_values(
    app: Flask, world: World, calls: list[Call]
) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in IGNORED_ENDPOINTS]
    called = {(c.endpoint, c.method) for c in calls}

    for rule in rules:
        for method in (rule.methods or set()) - IGNORED_METHODS:
            assert (rule.endpoint, method) in called
    role_changes = [c.path for c in calls if c.endpoint == "orgs.change_role"]
    assert role_changes == [f"/org/members/{i}/role" for i in world.firm_b.membership_ids]


def test_a_new_route_with_a_variable_the_table_does_not_know_fails_the_matrix(
    world: World,
) -> None:
    app = Flask(__name__)
    catalog = Blueprint("catalog", __name__)
    catalog.add_url_rule("/listings/<int:listing_id>", "listing", lambda listing_id: "")
    app.register_blueprint(catalog)

    with pytest.raises(UnknownUrlVariable, match=r"Add \('catalog', 'listing_id'\) to URL_VALUES"):
        matrix(app, world.firm_b, URL_VALUES)


def test_firm_a_finds_no_subscription_of_firm_b_on_its_subscription_pages(
    prober: Prober, world: World, calls: list[Call]
) -> None:
    owner = world.firm_a.people["owner"]
    theirs = [c for c in calls if c.endpoint.startswith("subscriptions.") and c.has_id]
    b_subscription = f"/subscriptions/{world.firm_b.billed.subscription_id}"

    statuses = {(c.method, c.path): prober.send(owner, c.method, c.path)[0] for c in theirs}

    assert any(path.startswith(b_subscription) for _, path in statuses)
    assert {s.status_code for s in statuses.values()} == {404}
