"""The storefront's pages: browse, search in Chinese, a listing with its plans side by side."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import Listing, ListingStatus
from catalog.pricing import FlatFee
from marketplace.orgs.models import OrgKind
from tests.catalog.storefront_data import TEAM_PRICE, add_version, publish_listing
from tests.factories import make_org


@pytest.fixture
def english(client: FlaskClient) -> FlaskClient:
    """A visitor who reads the interface in English."""
    client.post("/lang", data={"lang": "en"})
    return client


@pytest.fixture
def team_app(session: Session) -> Listing:
    """A published SaaS finance app with a flat fee, seats, graduated and package usage."""
    vendor = make_org(OrgKind.VENDOR, name="厦门海鹭软件有限公司")
    return publish_listing(
        vendor,
        slug="finance",
        name_zh="海鹭财务云",
        name_en="Hailu Finance Cloud",
        summary_zh="中小企业云财务",
        layer="saas",
        categories=("finance",),
        description_md="## 功能\n\n- 凭证\n- 报表",
        support_email="help@hailu.example",
        support_phone="0592-1234 5678",
        screenshots=["https://img.hailu.example/1.png", "/static/favicon.ico"],
        price=TEAM_PRICE,
    )


def test_the_browse_page_lists_services_with_their_starting_price(
    client: FlaskClient, team_app: Listing
) -> None:
    publish_listing(name_zh="云主机", layer="iaas")

    page = client.get("/services").get_data(as_text=True)

    assert "海鹭财务云" in page and "云主机" in page
    assert "厦门海鹭软件有限公司" in page
    # ¥99 flat and 3 seats at ¥30: the lowest a month of the team plan.
    assert "¥189.00" in page
    assert f'href="/services/{team_app.vendor_id}/finance"' in page


def test_the_browse_page_searches_in_chinese_and_filters_by_category(
    client: FlaskClient, team_app: Listing
) -> None:
    publish_listing(name_zh="云主机", layer="iaas")

    searched = client.get("/services", query_string={"q": "财务"}).get_data(as_text=True)
    filtered = client.get("/services", query_string={"category": "iaas"}).get_data(as_text=True)

    assert "海鹭财务云" in searched and "云主机" not in searched
    assert "云主机" in filtered and "海鹭财务云" not in filtered


def test_the_browse_page_says_when_nothing_matches_and_keeps_the_query(
    english: FlaskClient, team_app: Listing
) -> None:
    page = english.get("/services", query_string={"q": "<b>无</b>"}).get_data(as_text=True)

    assert "No service matches" in page
    assert "&lt;b&gt;无&lt;/b&gt;" in page and "<b>无</b>" not in page


def test_the_browse_page_links_to_further_pages(client: FlaskClient, session: Session) -> None:
    vendor = make_org(OrgKind.VENDOR)
    for n in range(25):
        publish_listing(vendor, name_zh=f"应用 {n:02d}")

    first = client.get("/services").get_data(as_text=True)
    second = client.get("/services?page=2").get_data(as_text=True)
    junk = client.get("/services?page=abc")

    assert "page=2" in first and "应用 24" not in first
    assert "应用 24" in second
    assert junk.status_code == 200


def test_the_listing_page_compares_the_plans(english: FlaskClient, team_app: Listing) -> None:
    response = english.get(f"/services/{team_app.vendor_id}/finance")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Hailu Finance Cloud" in page and "厦门海鹭软件有限公司" in page
    assert "SaaS" in page and "Finance" in page
    assert "<h2>功能</h2>" in page and "<li>凭证</li>" in page
    assert "help@hailu.example" in page and "0592-1234 5678" in page
    assert 'href="https://img.hailu.example/1.png"' in page
    assert 'src="/static/favicon.ico"' in page
    for shown in (
        "¥99.00",
        "¥30.00 per seat",
        "3 to 20 seats",
        "Graduated tiers",
        "up to 1,000 call: ¥0.10 each",
        "above 1,000 call: ¥0.05 each",
        "up to 1,000 call: ¥0.10 each",
        "100 call included",
        "¥45.00 per 1,000 call, rounded up to whole packages",
        "Monthly",
    ):
        assert shown in page, shown


def test_the_listing_page_shows_trial_days_and_yearly_plans(
    english: FlaskClient, session: Session
) -> None:
    from tests.catalog.conftest import NOW, component_row, make_plan

    listing = publish_listing(slug="db")
    make_plan(
        listing,
        [component_row(FlatFee(120000), 0)],
        code="year",
        billing_interval="year",
        trial_days=30,
        status="published",
        published_at=NOW,
    )

    page = english.get(f"/services/{listing.vendor_id}/db").get_data(as_text=True)

    assert "Yearly" in page and "30 days" in page and "¥1,200.00" in page


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script>alert"),
        ('<img src=x onerror="alert(1)">', "<img src=x"),
        ("[click](javascript:alert(1))", 'href="javascript:'),
        ("[click](JaVaScRiPt:alert(1))", 'href="JaVaScRiPt:'),
        ("[click](vbscript:msgbox(1))", 'href="vbscript:'),
        ("[click](data:text/html;base64,PHNjcmlwdD4=)", 'href="data:'),
        ("![x](javascript:alert(1))", 'javascript:alert(1)"'),
        ('<a href="https://e.example" onclick="alert(1)">x</a>', "<a href"),
        ("<iframe src=https://e.example></iframe>", "<iframe"),
    ],
)
def test_markdown_descriptions_cannot_carry_script(
    client: FlaskClient, session: Session, markdown: str, forbidden: str
) -> None:
    listing = publish_listing(slug="xss", description_md=markdown)

    page = client.get(f"/services/{listing.vendor_id}/xss").get_data(as_text=True)

    description = page.split('data-testid="description">', 1)[1].split("</section>", 1)[0]
    assert forbidden not in description


def test_markdown_links_leave_without_referrer_and_images_become_links(
    client: FlaskClient, session: Session
) -> None:
    listing = publish_listing(
        slug="links",
        description_md="[文档](https://docs.example/a) ![截图](https://e.example/s.png)",
    )

    page = client.get(f"/services/{listing.vendor_id}/links").get_data(as_text=True)

    assert '<a href="https://docs.example/a" rel="nofollow noopener noreferrer">文档</a>' in page
    assert '<a href="https://e.example/s.png" rel="nofollow noopener noreferrer">截图</a>' in page
    assert '<img src="https://e.example' not in page


@pytest.mark.parametrize(
    "status", [ListingStatus.DRAFT, ListingStatus.IN_REVIEW, ListingStatus.DELISTED]
)
def test_a_listing_off_the_storefront_answers_404(
    client: FlaskClient, session: Session, status: str
) -> None:
    listing = publish_listing(slug="gone", status=status)

    assert client.get(f"/services/{listing.vendor_id}/gone").status_code == 404


def test_unknown_listings_and_another_vendors_slug_answer_404(
    client: FlaskClient, team_app: Listing
) -> None:
    other = make_org(OrgKind.VENDOR)

    assert client.get(f"/services/{other.id}/finance").status_code == 404
    assert client.get(f"/services/{team_app.vendor_id}/nothing").status_code == 404
    assert client.get("/services/2000000000/finance").status_code == 404


def test_a_version_in_review_does_not_change_the_listing_page(
    client: FlaskClient, team_app: Listing
) -> None:
    add_version(team_app, 2, review_status="in_review", name_zh="未审核的新名字")

    page = client.get(f"/services/{team_app.vendor_id}/finance").get_data(as_text=True)

    assert "海鹭财务云" in page and "未审核的新名字" not in page


def test_everyone_sees_the_cloud_services_link(client: FlaskClient, session: Session) -> None:
    page = client.get("/").get_data(as_text=True)

    assert 'href="/services"' in page


def test_a_card_of_a_plan_with_no_fixed_fee_says_it_bills_usage(
    english: FlaskClient, session: Session
) -> None:
    from catalog.pricing import Aggregation, MeteredPrice, PlanPrice, PriceModel

    publish_listing(
        name_zh="按量云主机",
        price=PlanPrice(
            (MeteredPrice("hours", Aggregation.SUM, PriceModel.PER_UNIT, unit_fen=45),)
        ),
    )
    publish_listing(name_zh="免费应用", price=PlanPrice((FlatFee(0),)))

    page = english.get("/services").get_data(as_text=True)

    assert "Pay only for what you use" in page and "Free" in page
    assert "from ¥0.00" not in page
