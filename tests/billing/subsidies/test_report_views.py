"""The park's report pages and downloads: figures, scoping, bad arguments and the audit log."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from billing.subsidies import ledger
from billing.subsidies.models import SubsidyBudgetAlert
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from tests.billing.subsidies.test_reports import Scene, hold, make_scene, shanghai
from tests.billing.subsidies.world import SubsidyWorld, add_program, make_subsidy_world
from tests.sessions import sign_in


@pytest.fixture
def scene(subsidy_world: SubsidyWorld, session: Session, clock: FrozenClock) -> Scene:
    """A park with two firms, two vendors and a program, with grants held, paid and refunded.

    In March 2026 (Beijing): 123.45 paid and 0.55 held for the first firm from the first
    vendor, 9.00 paid for the second firm from the second vendor, 50.00 paid then refunded.
    """
    built = make_scene(session, clock, subsidy_world)
    program_id, firm, second = (
        built.program.id,
        built.world.firm_id,
        built.second_firm.organization_id,
    )
    clock.set(shanghai(2026, 3, 10))
    ledger.confirm_invoice(
        session, clock, hold(session, clock, built.books, program_id, firm, {"1": 12_345})
    )
    hold(session, clock, built.books, program_id, firm, {"1": 55})
    ledger.confirm_invoice(
        session, clock, hold(session, clock, built.other_books, program_id, second, {"1": 900})
    )
    refunded = hold(session, clock, built.books, program_id, second, {"1": 5_000})
    ledger.confirm_invoice(session, clock, refunded)
    ledger.release_invoice(session, clock, refunded)
    return built


def as_park(client: FlaskClient, scene: Scene) -> None:
    """Sign the park's owner in, acting for the park."""
    sign_in(client, scene.world.park_admin, scene.world.park)


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    """GET a page, check its status, and return its text."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def exports_recorded(session: Session) -> list[AuditEntry]:
    """Return the export entries of the audit log, oldest first."""
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.action == "subsidy_export.downloaded")
            .order_by(AuditEntry.id)
        )
    )


# Pages --------------------------------------------------------------------------------------


def test_the_overview_shows_each_budget_to_the_fen_with_its_alerts(
    client: FlaskClient, session: Session, clock: FrozenClock, scene: Scene
) -> None:
    session.add(
        SubsidyBudgetAlert(
            program_id=scene.program.id,
            budget_fen=1_000_000,
            percent=80,
            used_fen=800_000,
            at=clock.now(),
        )
    )
    session.flush()
    as_park(client, scene)

    html = page(client, "/park/subsidies/overview")

    assert "上云券 A" in html
    assert "¥10,000.00" in html  # the budget
    assert "¥0.55" in html  # reserved
    assert "¥132.45" in html  # confirmed: 123.45 + 9.00
    assert "¥9,867.00" in html  # remaining: 10,000 − 133.00
    assert "1.3%" in html
    assert "80% of the budget used" in html
    assert f"/park/subsidies/{scene.program.id}/burn-down" in html


def test_the_burn_down_page_has_the_chart_as_an_image_and_the_same_figures_in_a_table(
    client: FlaskClient, scene: Scene
) -> None:
    as_park(client, scene)

    html = page(client, f"/park/subsidies/{scene.program.id}/burn-down")

    assert 'src="data:image/svg+xml;base64,' in html
    assert 'aria-describedby="burn-down-table"' in html
    assert 'data-testid="day-2026-03-10"' in html
    assert "¥0.55" in html and "¥132.45" in html and "¥9,867.00" in html
    assert "<script>" not in html


def test_the_top_page_ranks_firms_and_vendors_and_refuses_a_bad_limit(
    client: FlaskClient, scene: Scene
) -> None:
    as_park(client, scene)

    html = page(client, "/park/subsidies/top")
    refused = page(client, "/park/subsidies/top?limit=0", 400)

    firms = html[html.index('data-testid="top-firms"') : html.index('data-testid="top-vendors"')]
    assert firms.index("福州云帆软件有限公司") < firms.index("厦门海鹭科技有限公司")
    assert "¥124.00" in firms and "¥9.00" in firms
    assert f"/park/subsidies/vendors/{scene.books.vendor_id}" in html
    assert "limit" in refused


def test_the_firm_and_vendor_pages_list_their_grants(client: FlaskClient, scene: Scene) -> None:
    as_park(client, scene)

    firm = page(client, f"/park/subsidies/firms/{scene.second_firm.organization_id}")
    vendor = page(client, f"/park/subsidies/vendors/{scene.other_books.vendor_id}")

    assert scene.second_firm.uscc in firm
    assert "¥9.00" in firm and "¥50.00" in firm and "Released" in firm
    assert "厦门海鹭科技有限公司" in vendor and "¥9.00" in vendor
    assert "福州云帆软件有限公司" not in vendor


def test_the_statement_page_shows_what_the_park_owes_for_the_month(
    client: FlaskClient, scene: Scene
) -> None:
    as_park(client, scene)

    html = page(client, "/park/subsidies/statements/2026/3")
    redirect = client.get("/park/subsidies/statements")

    # 123.45 + 9.00 + 50.00 paid, 50.00 refunded.
    assert 'data-testid="total">¥132.45' in html
    assert "-¥50.00" in html
    assert (
        "/park/subsidies/statements/2026/2" in html and "/park/subsidies/statements/2026/4" in html
    )
    assert redirect.status_code == 302
    assert redirect.headers["Location"].endswith("/park/subsidies/statements/2026/3")
    assert 'data-testid="total">¥0.00' in page(client, "/park/subsidies/statements/2025/12")
    page(client, "/park/subsidies/statements/2026/13", 404)
    page(client, "/park/subsidies/statements/9999/12", 404)


# Downloads ----------------------------------------------------------------------------------


def test_the_announcement_csv_download_is_named_in_two_ways_and_recorded(
    client: FlaskClient, session: Session, scene: Scene
) -> None:
    as_park(client, scene)

    response = client.get(f"/park/subsidies/exports/announcement.csv?program={scene.program.id}")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert "福州云帆软件有限公司" in text and scene.world.firm.uscc in text and "123.45" in text
    assert "厦门海鹭科技有限公司" in text and ",9.00" in text and "50.00" not in text
    disposition = response.headers["Content-Disposition"]
    assert f'filename="subsidy-announcement-park{scene.park_id}-all.csv"' in disposition
    assert (
        "filename*=UTF-8''"
        + quote(f"Subsidy announcement list-{scene.world.park.name}-all.csv", safe="")
        in disposition
    )
    [entry] = exports_recorded(session)
    assert entry.actor_user_id == scene.world.park_admin.id
    assert entry.after == {
        "kind": "announcement",
        "format": "csv",
        "rows": 3,
        "program_id": scene.program.id,
    }


def test_the_statement_xlsx_download_opens_with_the_months_total(
    client: FlaskClient, session: Session, scene: Scene
) -> None:
    as_park(client, scene)

    response = client.get("/park/subsidies/exports/statement.xlsx?month=2026-03")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    last = [cell.value for cell in sheet[sheet.max_row]]
    assert last[0] == "Total owed" and last[-1] == 132.45
    assert exports_recorded(session)[0].after == {
        "kind": "statement",
        "format": "xlsx",
        "rows": 6,  # four lines, the program's total and the total owed
        "month": "2026-03",
    }


def test_the_grants_download_takes_firm_and_vendor_filters(
    client: FlaskClient, session: Session, scene: Scene
) -> None:
    as_park(client, scene)

    response = client.get(
        f"/park/subsidies/exports/grants.csv?firm={scene.world.firm_id}&from=2026-03-10&until=2026-03-10"
    )

    text = response.get_data().decode("utf-8-sig")
    assert response.status_code == 200
    assert text.count("福州云帆软件有限公司") == 2 and "厦门海鹭科技有限公司" not in text


@pytest.mark.parametrize(
    ("url", "argument"),
    [
        ("/park/subsidies/exports/statement.csv", "month"),
        ("/park/subsidies/exports/statement.csv?month=2026-13", "month"),
        ("/park/subsidies/exports/statement.csv?month=9999-12", "month"),
        ("/park/subsidies/exports/announcement.csv?from=2026-02-30", "from"),
        ("/park/subsidies/exports/announcement.xlsx?until=yesterday", "until"),
        ("/park/subsidies/exports/announcement.csv?from=2026-03-02&until=2026-03-01", "until"),
        ("/park/subsidies/exports/grants.csv?program=abc", "program"),
        ("/park/subsidies/exports/grants.csv?firm=-1", "firm"),
        ("/park/subsidies/exports/grants.xlsx?vendor=0", "vendor"),
    ],
)
def test_a_bad_query_argument_is_refused_with_400_naming_it_and_nothing_recorded(
    client: FlaskClient, session: Session, scene: Scene, url: str, argument: str
) -> None:
    as_park(client, scene)

    response = client.get(url, headers={"Accept": "application/json"})

    assert response.status_code == 400
    assert response.get_json()["argument"] == argument
    assert response.get_json()["detail"].startswith(f"{argument}: ")
    assert exports_recorded(session) == []


def test_an_unknown_kind_or_format_is_not_found(client: FlaskClient, scene: Scene) -> None:
    as_park(client, scene)

    page(client, "/park/subsidies/exports/payroll.csv", 404)
    page(client, "/park/subsidies/exports/grants.pdf", 404)


# Scoping and access -------------------------------------------------------------------------


def test_another_parks_program_firm_and_vendor_are_not_found_and_not_exported(
    client: FlaskClient, session: Session, clock: FrozenClock, scene: Scene
) -> None:
    elsewhere = make_subsidy_world(session, clock.now())
    there = add_program(session, elsewhere.park.id, clock.now(), name="别处的券")
    as_park(client, scene)

    for url in [
        f"/park/subsidies/{there.id}/burn-down",
        f"/park/subsidies/firms/{elsewhere.firm_id}",
        f"/park/subsidies/vendors/{elsewhere.vendor.id}",
        f"/park/subsidies/exports/announcement.csv?program={there.id}",
        f"/park/subsidies/exports/grants.xlsx?firm={elsewhere.firm_id}",
        f"/park/subsidies/exports/grants.xlsx?vendor={elsewhere.vendor.id}",
    ]:
        assert "别处的券" not in page(client, url, 404)
    assert exports_recorded(session) == []
    assert "别处的券" not in page(client, "/park/subsidies/overview")


REPORT_URLS = [
    "/park/subsidies/overview",
    "/park/subsidies/top",
    "/park/subsidies/statements",
    "/park/subsidies/statements/2026/3",
    "/park/subsidies/exports/announcement.csv",
    "/park/subsidies/exports/statement.xlsx?month=2026-03",
    "/park/subsidies/exports/grants.csv",
]


def test_an_sme_cannot_reach_the_reports_or_downloads(
    client: FlaskClient, session: Session, scene: Scene
) -> None:
    sign_in(client, scene.world.firm_owner, scene.world.firm.organization)
    urls = [
        *REPORT_URLS,
        f"/park/subsidies/{scene.program.id}/burn-down",
        f"/park/subsidies/firms/{scene.world.firm_id}",
        f"/park/subsidies/vendors/{scene.books.vendor_id}",
    ]

    for url in urls:
        html = page(client, url, 404)
        assert "厦门海鹭科技有限公司" not in html and "上云券 A" not in html
    assert exports_recorded(session) == []


def test_a_visitor_is_sent_to_sign_in(client: FlaskClient, scene: Scene) -> None:
    for url in REPORT_URLS:
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_every_page_renders_in_chinese_the_default_language(
    client: FlaskClient, scene: Scene
) -> None:
    sign_in(client, scene.world.park_admin, scene.world.park, lang="zh_CN")
    urls = [
        "/park/subsidies/overview",
        "/park/subsidies/top",
        "/park/subsidies/statements/2026/3",
        f"/park/subsidies/{scene.program.id}/burn-down",
        f"/park/subsidies/firms/{scene.world.firm_id}",
        f"/park/subsidies/vendors/{scene.books.vendor_id}",
    ]

    for url in urls:
        html = page(client, url)
        assert 'lang="zh' in html and "¥" in html
