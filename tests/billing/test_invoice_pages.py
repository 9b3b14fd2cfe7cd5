"""Invoice pages: the firm's HTML and CSV, the vendor's, and the operator's corrections."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.invoice_views import invoices_csv_text
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Subscription,
)
from billing.services import subscriptions as subs
from catalog.pricing import Aggregation, FlatFee, MeteredPrice, PlanPrice, PriceModel, SeatFee
from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.events.models import OutboxEvent
from marketplace.orgs.models import Organization, OrgKind, Role
from tests.billing.conftest import ACTOR, add_plan
from tests.catalog.storefront_data import publish_listing
from tests.catalog.workflow import Party, make_operator
from tests.factories import make_member, make_org
from tests.sessions import sign_in

D = Decimal
FIRM_NAME = "福州闽江制造有限公司"
VENDOR_NAME = "Cloud Books Ltd"
SERVICE = "云记账"
SERVICE_EN = "Ledger Cloud"
NUMBER = "YS-2026-000042"
# Beijing midnights: 1 February, 1 March and 1 April 2026.
FEB = datetime(2026, 1, 31, 16, 0, tzinfo=UTC)
MAR = datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
APR = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
FINALIZED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
DUE = datetime(2026, 3, 17, 15, 59, 59, 999999, tzinfo=UTC)  # end of 17 March in Beijing
PRICE = PlanPrice(
    (
        FlatFee(10000),
        SeatFee(3000, 1, 50),
        MeteredPrice("api_calls", Aggregation.SUM, PriceModel.PER_UNIT, unit_fen=2),
    )
)
# (kind, key, dimension, quantity, amount, VAT): ¥170.00 before the ¥10.00 subsidy.
LINES = [
    (LineKind.RECURRING, "recurring_fee", None, D(1), 10000, 566),
    (LineKind.SEATS, "seats", None, D(2), 6000, 340),
    (LineKind.USAGE, "usage", "api_calls", D(1500), 3000, 170),
    (LineKind.PRORATION, "unused_time", None, D(1), -2000, -113),
    (LineKind.SUBSIDY, "subsidy", None, D(1), -1000, -57),
]


@dataclass
class Sale:
    """A firm subscribed to a vendor's service, with the people who look at it."""

    firm: Organization
    vendor: Organization
    subscription: Subscription


def make_sale(session: Session, clock: FrozenClock, firm_name: str = FIRM_NAME) -> Sale:
    """Subscribe a new firm to a new vendor's metered service."""
    firm = make_org(OrgKind.SME, firm_name)
    vendor = make_org(OrgKind.VENDOR, VENDOR_NAME)
    listing = publish_listing(vendor, price=PRICE, name_zh=SERVICE, name_en=SERVICE_EN)
    plan = add_plan(listing, PRICE, code="team", auto_activate=True)
    subscription = subs.subscribe(session, clock, ACTOR, firm.id, plan.id, 2)
    return Sale(firm, vendor, subscription)


def make_invoice(
    session: Session,
    subscription: Subscription,
    *,
    status: str = InvoiceStatus.OPEN,
    number: str | None = NUMBER,
    sandbox: bool = False,
    period_start: datetime = MAR,
    lines: list[tuple[LineKind, str, str | None, Decimal, int, int]] = LINES,
) -> Invoice:
    """Insert an invoice and its lines as finalization would leave them."""
    draft = status == InvoiceStatus.DRAFT
    total = sum(line[4] for line in lines)
    invoice = Invoice(
        organization_id=subscription.organization_id,
        vendor_id=subscription.vendor_id,
        subscription_id=subscription.id,
        sandbox=sandbox,
        number=None if draft else number,
        status=status,
        currency="CNY",
        period_start=period_start,
        period_end=period_start + (APR - MAR),
        usage_period_start=FEB,
        usage_period_end=MAR,
        subtotal_fen=sum(line[4] for line in lines if line[0] != LineKind.SUBSIDY),
        tax_fen=sum(line[5] for line in lines),
        total_fen=total,
        amount_due_fen=max(total, 0),
        vat_rate=D("0.06"),
        created_at=period_start,
        grace_until=period_start + timedelta(hours=48),
        finalized_at=None if draft else FINALIZED,
        due_at=None if draft else DUE,
    )
    plan_id = subscription.plan_id
    invoice.lines = [
        InvoiceLine(
            position=n,
            kind=kind,
            description_key=key,
            dimension=dimension,
            quantity=quantity,
            amount_fen=amount,
            tax_fen=tax,
            period_start=FEB if kind == LineKind.USAGE else period_start,
            period_end=MAR if kind == LineKind.USAGE else period_start + (APR - MAR),
            plan_id=plan_id,
        )
        for n, (kind, key, dimension, quantity, amount, tax) in enumerate(lines)
    ]
    session.add(invoice)
    session.flush()
    return invoice


def _member(
    client: FlaskClient, org: Organization, role: str = Role.OWNER, lang: str = "en"
) -> User:
    person = make_member(org, role=role)
    sign_in(client, person, org, lang=lang)
    return person


def _text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


# --- The firm's pages --------------------------------------------------------------------


def test_the_firm_reads_an_invoice_line_by_line_with_totals_in_beijing_time(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription)
    session.add(
        CreditNote(
            invoice_id=invoice.id, amount_fen=500, reason="Seat charged twice", created_at=FINALIZED
        )
    )
    invoice.amount_due_fen -= 500
    session.flush()
    _member(client, sale.firm)

    page = _text(client, f"/invoices/{invoice.id}")

    assert f"Invoice {NUMBER}" in page
    assert 'data-testid="invoice-status">Open<' in page
    assert FIRM_NAME in page and VENDOR_NAME in page and SERVICE_EN in page
    assert "2026-03-01 00:00 – 2026-04-01 00:00" in page  # the period, in Beijing time
    assert "2026-02-01 00:00 – 2026-03-01 00:00" in page  # the usage period
    assert 'data-testid="invoice-due">2026-03-17<' in page
    for words in (
        "Recurring fee",
        "2 seats",
        "Usage: 1,500 call (api_calls)",
        "Credit for the unused time of the old plan",
        "Park subsidy",
    ):
        assert words in page
    assert page.count('data-testid="invoice-line"') == 5
    assert "-¥20.00" in page and "¥3.40" in page  # a credit line's amount and a line's VAT
    assert 'data-testid="invoice-subtotal">¥170.00<' in page
    assert 'data-testid="invoice-subsidy">-¥10.00<' in page
    assert 'data-testid="invoice-vat">¥9.06<' in page
    assert 'data-testid="invoice-total">¥160.00<' in page
    assert 'data-testid="invoice-credited">-¥5.00<' in page
    assert 'data-testid="invoice-amount-due">¥155.00<' in page
    assert "Seat charged twice" in page
    assert f'href="/invoices/{invoice.id}.pdf"' in page


def test_the_invoice_page_speaks_chinese(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription)
    _member(client, sale.firm, lang="zh")

    page = _text(client, f"/invoices/{invoice.id}")

    for words in (
        SERVICE,
        "账单 " + NUMBER,
        "待付款",
        "固定费用",
        "2 个席位",
        "用量：1,500 次（api_calls）",
        "园区补贴",
        "应付金额",
        "含增值税（6%）",
    ):
        assert words in page


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.BILLING])
def test_every_member_of_the_firm_sees_its_invoices(
    client: FlaskClient, session: Session, clock: FrozenClock, role: str
) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription)
    _member(client, sale.firm, role=role)

    assert NUMBER in _text(client, "/invoices")
    assert NUMBER in _text(client, f"/invoices/{invoice.id}")
    assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 200
    assert NUMBER in _text(client, "/invoices.csv")


def test_another_firms_invoice_is_not_found_anywhere(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    theirs = make_invoice(session, make_sale(session, clock, "Other Firm Ltd").subscription)
    mine = make_sale(session, clock)
    _member(client, mine.firm)

    assert client.get(f"/invoices/{theirs.id}").status_code == 404
    assert client.get(f"/invoices/{theirs.id}.pdf").status_code == 404
    assert NUMBER not in _text(client, "/invoices")
    assert NUMBER not in _text(client, "/invoices.csv")
    filtered = _text(client, f"/invoices?subscription={theirs.subscription_id}")
    assert NUMBER not in filtered and "No such subscription." in filtered


def test_drafts_stay_hidden_from_the_firm(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    draft = make_invoice(session, sale.subscription, status=InvoiceStatus.DRAFT)
    _member(client, sale.firm)

    assert client.get(f"/invoices/{draft.id}").status_code == 404
    assert client.get(f"/invoices/{draft.id}.pdf").status_code == 404
    assert 'data-testid="no-invoices"' in _text(client, "/invoices")
    assert _text(client, "/invoices.csv").count("\n") == 1  # the header alone


def test_the_list_can_show_one_subscription_only(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    first = make_invoice(session, sale.subscription)
    listing = publish_listing(price=PRICE, name_zh="云存储")
    plan = add_plan(listing, PRICE, code="team", auto_activate=True)
    other = subs.subscribe(session, clock, ACTOR, sale.firm.id, plan.id, 1)
    second = make_invoice(session, other, number="YS-2026-000043")
    _member(client, sale.firm)

    everything = _text(client, "/invoices")
    filtered = _text(client, f"/invoices?subscription={other.id}")

    assert f'data-testid="invoice-{first.id}"' in everything
    assert f'data-testid="invoice-{second.id}"' in everything
    assert f'data-testid="invoice-{first.id}"' not in filtered
    assert f'data-testid="invoice-{second.id}"' in filtered
    assert "Invoices of 云存储." in filtered
    assert f"/invoices.csv?subscription={other.id}" in filtered


def test_the_subscription_page_links_to_its_invoices(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    _member(client, sale.firm)

    page = _text(client, f"/subscriptions/{sale.subscription.id}")

    assert f'href="/invoices?subscription={sale.subscription.id}"' in page
    assert 'data-testid="nav-invoices"' in page


def test_the_csv_lists_finalized_invoices_in_yuan(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    make_invoice(session, sale.subscription)
    make_invoice(session, sale.subscription, status=InvoiceStatus.DRAFT, period_start=APR)
    _member(client, sale.firm)

    response = client.get("/invoices.csv")

    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [
        [
            "number",
            "status",
            "period_start_beijing",
            "period_end_beijing",
            "subtotal_yuan",
            "vat_yuan",
            "total_yuan",
            "amount_due_yuan",
            "due_date",
            "finalized_at_beijing",
        ],
        [
            NUMBER,
            "open",
            "2026-03-01 00:00",
            "2026-04-01 00:00",
            "170.00",
            "9.06",
            "160.00",
            "160.00",
            "2026-03-17",
            "2026-03-02 09:30",
        ],
    ]


def test_the_csv_keeps_text_from_reading_as_a_formula(session: Session, clock: FrozenClock) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription, number="=HYPERLINK(1)")

    rows = list(csv.reader(io.StringIO(invoices_csv_text([invoice]))))

    assert rows[1][0] == "'=HYPERLINK(1)"
    assert rows[1][4] == "170.00"


def test_a_credit_invoice_shows_negative_yuan_in_the_csv(
    session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    credit = [(LineKind.PRORATION, "unused_time", None, D(1), -1234, -70)]
    invoice = make_invoice(session, sale.subscription, lines=credit)

    rows = list(csv.reader(io.StringIO(invoices_csv_text([invoice]))))

    assert rows[1][4:8] == ["-12.34", "-0.70", "-12.34", "0.00"]


# --- The vendor's pages ------------------------------------------------------------------


def test_the_vendor_sees_its_invoices_live_and_sandbox_apart(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    live = make_invoice(session, sale.subscription)
    sandbox = make_invoice(session, sale.subscription, number=None, sandbox=True, period_start=APR)
    _member(client, sale.vendor, role=Role.MEMBER)

    live_list = _text(client, "/vendor/invoices")
    sandbox_list = _text(client, "/vendor/invoices?mode=sandbox")

    assert f'data-testid="invoice-{live.id}"' in live_list
    assert f'data-testid="invoice-{sandbox.id}"' not in live_list
    assert f'data-testid="invoice-{sandbox.id}"' in sandbox_list
    assert f'data-testid="invoice-{live.id}"' not in sandbox_list
    page = _text(client, f"/vendor/invoices/{live.id}")
    assert FIRM_NAME in page and 'data-testid="invoice-total">¥160.00<' in page
    assert ".pdf" not in page  # the PDF is the firm's document
    assert "Sandbox invoice (no number)" in _text(
        client, f"/vendor/invoices/{sandbox.id}?mode=sandbox"
    )
    assert client.get(f"/vendor/invoices/{sandbox.id}").status_code == 404


def test_a_vendor_never_sees_another_vendors_invoice(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    theirs = make_invoice(session, make_sale(session, clock).subscription)
    other_vendor = make_org(OrgKind.VENDOR, "Other Vendor")
    _member(client, other_vendor)

    assert client.get(f"/vendor/invoices/{theirs.id}").status_code == 404
    assert NUMBER not in _text(client, "/vendor/invoices")


def test_a_firm_cannot_open_the_vendor_pages(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription)
    _member(client, sale.firm)

    assert client.get("/vendor/invoices").status_code == 404
    assert client.get(f"/vendor/invoices/{invoice.id}").status_code == 404


# --- The operator's pages ----------------------------------------------------------------


@pytest.fixture
def operator(client: FlaskClient, session: Session) -> Party:
    """Sign in as the operator's owner."""
    party = make_operator()
    sign_in(client, party.user, party.org)
    return party


def _console(invoice: Invoice) -> str:
    return f"/console/billing/invoices/{invoice.id}"


def _state(session: Session, invoice: Invoice) -> tuple[str, int, int, int]:
    session.expire_all()
    notes = session.scalar(
        sa.select(sa.func.count(CreditNote.id)).where(CreditNote.invoice_id == invoice.id)
    )
    audits = session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.target_type == "invoice")
    )
    return invoice.status, invoice.amount_due_fen, int(notes or 0), int(audits or 0)


def test_the_operator_finds_invoices_by_number_or_firm_latest_first(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party
) -> None:
    sale = make_sale(session, clock)
    older = make_invoice(session, sale.subscription)
    newer = make_invoice(session, sale.subscription, number="YS-2026-000043", period_start=APR)
    other = make_invoice(
        session,
        make_sale(session, clock, "Xiamen Harbour Ltd").subscription,
        number="YS-2026-000099",
    )

    everything = _text(client, "/console/billing/invoices")
    by_number = _text(client, "/console/billing/invoices?q=000043")
    by_firm = _text(client, "/console/billing/invoices?q=闽江")

    assert everything.index(f'invoice-{newer.id}"') < everything.index(f'invoice-{older.id}"')
    assert f'invoice-{newer.id}"' in by_number and f'invoice-{older.id}"' not in by_number
    assert f'invoice-{older.id}"' in by_firm and f'invoice-{other.id}"' not in by_firm
    assert "No invoice matches." in _text(client, "/console/billing/invoices?q=nothing%25")
    assert _text(client, "/console/billing/invoices?q=" + "x" * 201, 422)


def test_only_the_operator_sees_the_console_invoices(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription)
    _member(client, sale.firm)

    assert client.get("/console/billing/invoices").status_code == 404
    assert client.get(_console(invoice)).status_code == 404
    assert client.post(_console(invoice) + "/void").status_code == 404
    assert _state(session, invoice)[0] == InvoiceStatus.OPEN


def test_a_plain_operator_member_looks_but_cannot_correct(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)
    party = make_operator(Role.MEMBER)
    sign_in(client, party.user, party.org)

    page = _text(client, _console(invoice))

    assert NUMBER in page and 'data-testid="void"' not in page
    assert client.post(_console(invoice) + "/void").status_code == 403
    posted = {"credit-amount": "1", "credit-reason": "x"}
    assert client.post(_console(invoice) + "/credit-notes", data=posted).status_code == 403
    assert _state(session, invoice) == (InvoiceStatus.OPEN, 16000, 0, 0)


def test_the_operator_voids_an_open_invoice(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)

    response = client.post(_console(invoice) + "/void", follow_redirects=True)

    assert response.status_code == 200
    assert "The invoice is void." in response.get_data(as_text=True)
    assert _state(session, invoice)[::3] == (InvoiceStatus.VOID, 1)
    assert invoice.voided_at == clock.now()
    assert session.scalar(
        sa.select(sa.func.count(OutboxEvent.id)).where(OutboxEvent.type == "invoice.voided")
    )


def test_the_operator_marks_an_open_invoice_uncollectible(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)

    response = client.post(_console(invoice) + "/uncollectible", follow_redirects=True)

    assert "The invoice is marked uncollectible." in response.get_data(as_text=True)
    assert _state(session, invoice)[0] == InvoiceStatus.UNCOLLECTIBLE


@pytest.mark.parametrize("action", ["void", "uncollectible"])
def test_a_paid_invoice_can_be_neither_voided_nor_given_up(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party, action: str
) -> None:
    invoice = make_invoice(
        session, make_sale(session, clock).subscription, status=InvoiceStatus.PAID
    )
    page = _text(client, _console(invoice))
    assert 'data-testid="void"' not in page and 'data-testid="uncollectible"' not in page

    response = client.post(_console(invoice) + f"/{action}", follow_redirects=True)

    assert "cannot make that move" in response.get_data(as_text=True)
    assert _state(session, invoice) == (InvoiceStatus.PAID, 16000, 0, 0)


def test_the_operator_issues_a_credit_note(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)
    assert "At most ¥160.00 can still be credited." in _text(client, _console(invoice))

    response = client.post(
        _console(invoice) + "/credit-notes",
        data={"credit-amount": "12.5", "credit-reason": "  Two seats billed twice "},
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "The credit note is issued." in page
    assert _state(session, invoice) == (InvoiceStatus.OPEN, 14750, 1, 1)
    note = session.scalars(sa.select(CreditNote).where(CreditNote.invoice_id == invoice.id)).one()
    assert (note.amount_fen, note.reason, note.created_by_id) == (
        1250,
        "Two seats billed twice",
        operator.user.id,
    )
    assert 'data-testid="invoice-amount-due">¥147.50<' in page
    assert "At most ¥147.50 can still be credited." in page


def test_crediting_all_that_is_due_settles_the_invoice(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)

    client.post(
        _console(invoice) + "/credit-notes",
        data={"credit-amount": "160", "credit-reason": "Service never delivered"},
    )

    assert _state(session, invoice)[:3] == (InvoiceStatus.PAID, 0, 1)
    page = _text(client, _console(invoice))
    assert 'data-testid="credit-form"' not in page  # nothing is left to credit


@pytest.mark.parametrize(
    ("amount", "reason", "field", "message"),
    [
        ("10", "", "credit-reason", "Say why the invoice is corrected."),
        ("10", "   ", "credit-reason", "Say why the invoice is corrected."),
        ("160.01", "Too much", "credit-amount", "At most ¥160.00 can still be credited."),
        ("ten yuan", "Typo", "credit-amount", "Enter an amount in yuan, such as 12.50."),
        ("", "Typo", "credit-amount", "Enter an amount in yuan."),
        ("-5", "Typo", "credit-amount", "Credit a positive amount."),
        ("0", "Typo", "credit-amount", "Credit a positive amount."),
        ("1.005", "Typo", "credit-amount", "Use at most two decimals."),
        ("NaN", "Typo", "credit-amount", "Enter an amount in yuan, such as 12.50."),
        ("10", "x" * 501, "credit-reason", "Keep the reason under 500 characters."),
    ],
)
def test_a_bad_credit_note_is_refused_next_to_its_field_and_changes_nothing(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    operator: Party,
    amount: str,
    reason: str,
    field: str,
    message: str,
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)

    response = client.post(
        _console(invoice) + "/credit-notes",
        data={"credit-amount": amount, "credit-reason": reason},
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    # bootstrap-flask marks the field invalid and puts the message right after it.
    assert f'id="{field}"' in page
    field_html = page[page.index(f'id="{field}"') - 400 :]
    assert "is-invalid" in field_html[:800] and message in field_html[:1600]
    assert _state(session, invoice) == (InvoiceStatus.OPEN, 16000, 0, 0)


def test_an_earlier_credit_note_lowers_what_is_left(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)
    session.add(
        CreditNote(invoice_id=invoice.id, amount_fen=15000, reason="Earlier", created_at=FINALIZED)
    )
    invoice.amount_due_fen = 1000
    session.flush()

    response = client.post(
        _console(invoice) + "/credit-notes",
        data={"credit-amount": "10.01", "credit-reason": "Once more"},
    )

    assert response.status_code == 422
    assert "At most ¥10.00 can still be credited." in response.get_data(as_text=True)
    assert _state(session, invoice) == (InvoiceStatus.OPEN, 1000, 1, 0)


def test_a_void_invoice_takes_no_credit_note(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party
) -> None:
    invoice = make_invoice(
        session, make_sale(session, clock).subscription, status=InvoiceStatus.VOID
    )
    page = _text(client, _console(invoice))
    assert 'data-testid="credit-form"' not in page
    assert "This invoice takes no correction in its current state." in page

    response = client.post(
        _console(invoice) + "/credit-notes",
        data={"credit-amount": "1", "credit-reason": "Late fix"},
    )

    assert response.status_code == 422
    assert _state(session, invoice) == (InvoiceStatus.VOID, 16000, 0, 0)
