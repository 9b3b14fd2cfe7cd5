"""Compare our invoices and payment attempts with Stripe's PaymentIntents; report mismatches.

Stripe's side is every PaymentIntent of the account whose metadata names one of our
invoices (the collection puts invoice_id there), plus each intent an attempt recorded.
Our side is every live finalized invoice (open, paid, void or uncollectible), with its
attempts. A mismatch is:

- paid_here_not_there: paid here by a card attempt, but no intent of it succeeded at Stripe;
- succeeded_there_open_here: an intent of the invoice succeeded, but it is still open here;
- charged_but_closed_here: an intent succeeded for an invoice voided or written off here,
  so the firm paid for nothing it owes and is due a refund;
- amount_differs: the intent that succeeded took another amount than the attempt asked for;
- paid_twice: more than one intent of the invoice succeeded;
- status_differs: an attempt says succeeded or failed and Stripe now says otherwise;
- unknown_invoice: an intent names an invoice we do not have.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import click
import sqlalchemy as sa
import stripe
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus
from billing.payments import intents
from billing.payments.attempt_models import AttemptStatus, PaymentAttempt
from billing.payments.gateway import stripe_gateway
from marketplace.extensions import db

billing_cli = AppGroup("billing", help="Billing tools: reconcile payments with Stripe.")


@dataclass(frozen=True)
class Mismatch:
    """One disagreement between our books and Stripe."""

    kind: str
    invoice_id: int | None
    payment_intent_id: str | None
    detail: str


@dataclass
class ReconciliationReport:
    """What the comparison found, and how much it looked at."""

    invoices: int = 0
    intents: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Tell whether our books and Stripe agree."""
        return not self.mismatches


def _invoice_id(result: intents.IntentResult) -> int | None:
    raw = (result.metadata or {}).get("invoice_id", "")
    return int(raw) if raw.isdigit() else None


def stripe_side(
    client: stripe.StripeClient, recorded: Iterable[str]
) -> dict[str, intents.IntentResult]:
    """Return Stripe's intents of our invoices, by id: listed by metadata, plus recorded ids."""
    found = {r.id: r for r in intents.all_intents(client) if r.id and _invoice_id(r) is not None}
    for intent_id in recorded:
        if intent_id not in found:
            found[intent_id] = intents.retrieve_intent(client, intent_id)
    return found


CLOSED_UNPAID = (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE)


def reconcile(session: Session, client: stripe.StripeClient) -> ReconciliationReport:
    """Compare our finalized live invoices and their attempts with Stripe's intents."""
    invoices = {
        i.id: i
        for i in session.scalars(
            sa.select(Invoice).where(
                Invoice.sandbox.is_(False),
                Invoice.status != InvoiceStatus.DRAFT,
            )
        )
    }
    attempts = list(session.scalars(sa.select(PaymentAttempt).order_by(PaymentAttempt.id)))
    recorded = [a.stripe_payment_intent_id for a in attempts if a.stripe_payment_intent_id]
    theirs = stripe_side(client, recorded)
    report = ReconciliationReport(invoices=len(invoices), intents=len(theirs))
    report.mismatches += _attempt_mismatches(attempts, theirs)
    report.mismatches += _invoice_mismatches(session, invoices, attempts, theirs)
    return report


def _attempt_mismatches(
    attempts: list[PaymentAttempt], theirs: dict[str, intents.IntentResult]
) -> list[Mismatch]:
    found = []
    for attempt in attempts:
        intent = theirs.get(attempt.stripe_payment_intent_id or "")
        if intent is None:
            continue
        ours = attempt.status
        if ours in (AttemptStatus.SUCCEEDED, AttemptStatus.FAILED) and (
            (ours == AttemptStatus.SUCCEEDED) != intent.succeeded
        ):
            found.append(
                Mismatch(
                    "status_differs",
                    attempt.invoice_id,
                    intent.id,
                    f"attempt {attempt.number} is {ours} here, {intent.status} at Stripe",
                )
            )
        if intent.succeeded and intent.amount_fen != attempt.amount_fen:
            found.append(
                Mismatch(
                    "amount_differs",
                    attempt.invoice_id,
                    intent.id,
                    f"asked {attempt.amount_fen} fen, Stripe took {intent.amount_fen} fen",
                )
            )
    return found


def _invoice_mismatches(
    session: Session,
    invoices: dict[int, Invoice],
    attempts: list[PaymentAttempt],
    theirs: dict[str, intents.IntentResult],
) -> list[Mismatch]:
    succeeded: dict[int, list[str]] = defaultdict(list)
    for intent in theirs.values():
        invoice_id = _invoice_id(intent)
        if invoice_id is None or not intent.succeeded:
            continue
        succeeded[invoice_id].append(str(intent.id))
    found = [
        Mismatch("unknown_invoice", invoice_id, ids[0], "no such invoice here")
        for invoice_id, ids in succeeded.items()
        if invoice_id not in invoices and session.get(Invoice, invoice_id) is None
    ]
    charged = {a.invoice_id for a in attempts if a.status == AttemptStatus.SUCCEEDED}
    for invoice in invoices.values():
        paid_there = succeeded.get(invoice.id, [])
        if invoice.status == InvoiceStatus.OPEN and paid_there:
            found.append(
                Mismatch("succeeded_there_open_here", invoice.id, paid_there[0], "open here")
            )
        if invoice.status in CLOSED_UNPAID and paid_there:
            found.append(
                Mismatch("charged_but_closed_here", invoice.id, paid_there[0], invoice.status)
            )
        if invoice.status == InvoiceStatus.PAID and invoice.id in charged and not paid_there:
            found.append(
                Mismatch("paid_here_not_there", invoice.id, None, "no intent succeeded at Stripe")
            )
        if len(paid_there) > 1:
            found.append(
                Mismatch("paid_twice", invoice.id, ", ".join(sorted(paid_there)), "charged twice")
            )
    return found


def format_report(report: ReconciliationReport) -> str:
    """Render a report as plain text, one mismatch a line."""
    head = (
        f"invoices compared: {report.invoices}; Stripe payment intents: {report.intents}; "
        f"mismatches: {len(report.mismatches)}"
    )
    lines = [head]
    for m in sorted(report.mismatches, key=lambda m: (m.invoice_id or 0, m.kind)):
        lines.append(
            f"{m.kind}\tinvoice {m.invoice_id}\tintent {m.payment_intent_id or '-'}\t{m.detail}"
        )
    return "\n".join(lines)


def reconcile_job() -> dict[str, object]:
    """Job: reconcile with Stripe; return the figures and the mismatches for the job log."""
    report = reconcile(db.session(), stripe_gateway.client())
    db.session.rollback()  # read only: end the transaction
    return {
        "invoices": report.invoices,
        "intents": report.intents,
        "mismatches": [vars(m) for m in report.mismatches],
    }


@billing_cli.command("reconcile")
def reconcile_command() -> None:
    """Compare invoices and payments with Stripe and print the mismatches (exit 1 if any)."""
    report = reconcile(db.session(), stripe_gateway.client())
    click.echo(format_report(report))
    if not report.clean:
        raise SystemExit(1)
