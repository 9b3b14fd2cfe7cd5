"""What the storefront reads: published listings only, their current versions, plans on sale."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from catalog.models import ListingStatus
from catalog.pricing import FlatFee, PlanPrice, SeatFee
from catalog.storefront import PAGE_SIZE, BrowseQuery, browse, plans_on_sale, storefront_version
from marketplace.errors import NotFound
from marketplace.orgs.models import OrgKind
from tests.catalog.conftest import NOW, component_row, make_listing, make_plan, save_plan_price
from tests.catalog.storefront_data import add_version, publish_listing
from tests.factories import make_org


def _names(session: Session, **query: object) -> list[str]:
    return [card.version.name_zh for card in browse(session, BrowseQuery(**query)).cards]  # type: ignore[arg-type]


def test_only_published_listings_of_active_vendors_are_on_the_storefront(
    session: Session,
) -> None:
    publish_listing(name_zh="已上架")
    for status in (ListingStatus.DRAFT, ListingStatus.IN_REVIEW, ListingStatus.DELISTED):
        publish_listing(status=status, name_zh=f"状态{status}")
    publish_listing(status=ListingStatus.REJECTED, rejection_reason="不完整", name_zh="已驳回")
    publish_listing(sandbox=True, name_zh="沙箱")
    publish_listing(make_org(OrgKind.VENDOR, status="suspended"), name_zh="停用服务商")

    assert _names(session) == ["已上架"]


def test_the_storefront_shows_the_newest_approved_version_not_one_in_review(
    session: Session,
) -> None:
    listing = publish_listing(name_zh="第一版")
    add_version(listing, 2, name_zh="第二版")
    add_version(listing, 3, review_status="in_review", name_zh="审核中第三版")

    assert _names(session) == ["第二版"]
    assert _names(session, q="审核中") == []
    assert storefront_version(session, listing.vendor_id, listing.slug).version == 2


def test_a_listing_without_an_approved_version_is_not_shown(session: Session) -> None:
    listing = make_listing(status=ListingStatus.PUBLISHED)
    add_version(listing, review_status="draft", name_zh="草稿")

    assert _names(session) == []
    with pytest.raises(NotFound):
        storefront_version(session, listing.vendor_id, listing.slug)


def test_a_listing_is_found_only_under_its_own_vendor(session: Session) -> None:
    listing = publish_listing(slug="crm")
    other = make_org(OrgKind.VENDOR)

    with pytest.raises(NotFound):
        storefront_version(session, other.id, "crm")
    assert storefront_version(session, listing.vendor_id, "crm").listing_id == listing.id


def test_draft_plans_and_superseded_versions_are_not_on_sale(session: Session) -> None:
    listing = publish_listing(price=PlanPrice((FlatFee(5000),)))
    make_plan(listing, [component_row(FlatFee(100), 0)], code="cheap-draft")
    save_plan_price(PlanPrice((FlatFee(3000),)), listing)
    make_plan(
        listing,
        [component_row(FlatFee(7000), 0)],
        code="pro",
        version=1,
        status="published",
        published_at=NOW,
    )
    make_plan(
        listing,
        [component_row(FlatFee(8000), 0)],
        code="pro",
        version=2,
        status="published",
        published_at=NOW,
    )
    make_plan(
        listing,
        [component_row(FlatFee(1), 0)],
        code="old",
        version=1,
        status="published",
        published_at=NOW,
    )
    make_plan(
        listing,
        [component_row(FlatFee(1), 0)],
        code="old",
        version=2,
        status="retired",
        published_at=NOW,
    )
    make_plan(listing, [component_row(FlatFee(9000), 0)], code="pro", version=3)

    offers = plans_on_sale(session, [listing.id])[listing.id]

    assert [o.starting_fen for o in offers] == [3000, 5000, 8000]
    assert all(o.plan.status == "published" for o in offers)


def test_the_starting_price_counts_the_fewest_seats_and_spreads_a_year(session: Session) -> None:
    listing = publish_listing(price=PlanPrice((FlatFee(1000), SeatFee(500, 3, 10))))
    make_plan(
        listing,
        [component_row(FlatFee(60000), 0)],
        code="year",
        billing_interval="year",
        status="published",
        published_at=NOW,
    )

    offers = plans_on_sale(session, [listing.id])[listing.id]
    card = browse(session, BrowseQuery()).cards[0]

    assert [(o.starting_fen, o.monthly_fen) for o in offers] == [
        (2500, Decimal(2500)),
        (60000, Decimal(5000)),
    ]
    assert card.cheapest is not None and card.cheapest.starting_fen == 2500


def test_browse_filters_by_layer_or_business_category(session: Session) -> None:
    publish_listing(name_zh="云主机", layer="iaas")
    publish_listing(name_zh="财务云", layer="saas", categories=("finance",))
    publish_listing(name_zh="人事云", layer="saas", categories=("hr",))

    assert _names(session, category="iaas") == ["云主机"]
    assert _names(session, category="finance") == ["财务云"]
    assert sorted(_names(session, category="saas")) == ["人事云", "财务云"]
    assert _names(session, category="no-such-category") == []


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("财务", ["海鹭财务云"]),
        ("  财务\u3000", ["海鹭财务云"]),
        ("FINANCE", ["海鹭财务云"]),
        ("凭证", ["海鹭财务云"]),
        ("bookkeeping", ["海鹭财务云"]),
        ("海鹭", ["海鹭财务云"]),
        ("仓库", ["进销存"]),
        ("%", []),
        ("_", []),
        ("不存在", []),
    ],
)
def test_search_matches_chinese_and_english_names_summaries_and_vendors(
    session: Session, q: str, found: list[str]
) -> None:
    publish_listing(
        make_org(OrgKind.VENDOR, name="厦门海鹭软件有限公司"),
        name_zh="海鹭财务云",
        name_en="Hailu Finance Cloud",
        summary_zh="凭证、报表一站完成",
        summary_en="Bookkeeping for SMEs",
    )
    publish_listing(name_zh="进销存", summary_zh="多仓库管理")

    assert _names(session, q=q) == found


def test_browse_sorts_by_name_or_newest(session: Session) -> None:
    publish_listing(name_zh="B 应用", age_days=5)
    publish_listing(name_zh="A 应用", age_days=9)
    publish_listing(name_zh="C 应用", age_days=1)

    assert _names(session, sort="name") == ["A 应用", "B 应用", "C 应用"]
    assert _names(session, sort="newest") == ["C 应用", "B 应用", "A 应用"]
    assert _names(session, sort="sideways") == ["A 应用", "B 应用", "C 应用"]


def test_browse_pages_by_twenty_four(session: Session) -> None:
    vendor = make_org(OrgKind.VENDOR)
    for n in range(PAGE_SIZE + 6):
        publish_listing(vendor, name_zh=f"应用 {n:02d}")

    first = browse(session, BrowseQuery(page=1))
    second = browse(session, BrowseQuery(page=2))
    beyond = browse(session, BrowseQuery(page=99))

    assert (first.total, first.pages, len(first.cards), len(second.cards)) == (30, 2, 24, 6)
    assert second.cards[0].version.name_zh == "应用 24"
    assert beyond.query.page == 2 and len(beyond.cards) == 6
