"""The invoice PDF: A4 pages whose text says what the HTML page says, Chinese included."""

from __future__ import annotations

import io
from decimal import Decimal

from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from billing.models import LineKind
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Role
from tests.billing.test_invoice_pages import (
    FIRM_NAME,
    NUMBER,
    SERVICE,
    VENDOR_NAME,
    make_invoice,
    make_sale,
)
from tests.factories import make_member
from tests.sessions import sign_in

A4_POINTS = (595.28, 841.89)


def _pdf(client: FlaskClient, invoice_id: int) -> PdfReader:
    response = client.get(f"/invoices/{invoice_id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return PdfReader(io.BytesIO(response.get_data()))


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _is_a4(reader: PdfReader) -> bool:
    sizes = {
        (round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2))
        for p in reader.pages
    }
    return sizes == {A4_POINTS}


def test_the_pdf_carries_the_firm_the_number_and_the_total_in_chinese(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription)
    sign_in(client, make_member(sale.firm, role=Role.BILLING), sale.firm, lang="zh")

    reader = _pdf(client, invoice.id)

    text = _text(reader)
    assert len(reader.pages) == 1 and _is_a4(reader)
    assert FIRM_NAME in text and VENDOR_NAME in text and SERVICE in text
    assert NUMBER in text
    assert "¥160.00" in text  # the total
    for words in ("账单", "应付金额", "园区补贴", "2026-03-01 00:00", "2026-03-17"):
        assert words in text


def test_the_pdf_says_what_the_html_page_says(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    invoice = make_invoice(session, sale.subscription)
    sign_in(client, make_member(sale.firm), sale.firm)

    text = _text(_pdf(client, invoice.id)).replace("\n", " ")

    for words in (
        f"Invoice {NUMBER}",
        "Recurring fee",
        "2 seats",
        "Credit for the unused time",
        "¥170.00",  # subtotal
        "-¥10.00",  # subsidy
        "¥9.06",  # VAT
        "¥160.00",  # total and amount due
        "Amounts include VAT. Times are Beijing time.",
    ):
        assert words in text


def test_a_long_invoice_runs_over_several_a4_pages_with_every_line(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock)
    lines = [(LineKind.SEATS, "seats_added", None, Decimal(n), 100 + n, 6) for n in range(1, 91)]
    invoice = make_invoice(session, sale.subscription, lines=lines)
    sign_in(client, make_member(sale.firm), sale.firm)

    reader = _pdf(client, invoice.id)

    text = _text(reader)
    assert len(reader.pages) >= 3 and _is_a4(reader)
    assert text.count("seats added for the rest of the period") == 90
    assert "¥1.01" in text and "¥1.90" in text  # the first line and the last
    # The column heads repeat on every page, and every page is numbered.
    for number, page in enumerate(reader.pages, start=1):
        assert "Item" in page.extract_text()
        assert f"page {number}" in page.extract_text()


def test_a_name_with_markup_is_printed_as_written(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    sale = make_sale(session, clock, "A&B <Trading> 有限公司")
    invoice = make_invoice(session, sale.subscription)
    sign_in(client, make_member(sale.firm), sale.firm)

    assert "A&B <Trading> 有限公司" in _text(_pdf(client, invoice.id))


def test_another_firm_gets_no_pdf(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    invoice = make_invoice(session, make_sale(session, clock).subscription)
    stranger = make_sale(session, clock, "Stranger Ltd").firm
    sign_in(client, make_member(stranger), stranger)

    assert client.get(f"/invoices/{invoice.id}.pdf").status_code == 404
