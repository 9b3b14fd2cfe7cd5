"""A vendor's public page: its services on the marketplace, and nothing of anyone else."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.orgs.models import Organization, OrgKind, OrgStatus
from tests.catalog.storefront_data import add_version, publish_listing
from tests.factories import make_org


@pytest.fixture
def vendor(session: Session) -> Organization:
    """A vendor with two services on show and others that are not."""
    vendor = make_org(OrgKind.VENDOR, name="福州闽江云科技有限公司")
    publish_listing(vendor, slug="erp", name_zh="闽江进销存")
    publish_listing(vendor, slug="crm", name_zh="闽江客户管理")
    publish_listing(vendor, slug="old", name_zh="闽江旧系统", status="delisted")
    publish_listing(vendor, slug="test", name_zh="闽江沙箱应用", sandbox=True)
    return vendor


def test_the_vendor_page_shows_the_vendor_and_its_services_on_show(
    client: FlaskClient, vendor: Organization
) -> None:
    response = client.get(f"/vendors/{vendor.id}")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "福州闽江云科技有限公司" in page
    assert "闽江进销存" in page and "闽江客户管理" in page
    assert page.count('data-testid="listing-card"') == 2
    assert f'href="/services/{vendor.id}/erp"' in page


def test_the_vendor_page_leaves_out_delisted_sandbox_and_unapproved_services(
    client: FlaskClient, vendor: Organization
) -> None:
    in_review = publish_listing(vendor, slug="next", name_zh="闽江已发布版")
    add_version(in_review, 2, review_status="in_review", name_zh="闽江审核中新版")

    page = client.get(f"/vendors/{vendor.id}").get_data(as_text=True)

    assert "闽江旧系统" not in page and "闽江沙箱应用" not in page
    assert "闽江审核中新版" not in page and "闽江已发布版" in page


def test_the_vendor_page_shows_no_other_vendors_services(
    client: FlaskClient, vendor: Organization
) -> None:
    other = make_org(OrgKind.VENDOR, name="泉州刺桐数据有限公司")
    publish_listing(other, name_zh="刺桐数据仓库")

    page = client.get(f"/vendors/{vendor.id}").get_data(as_text=True)

    assert "刺桐数据仓库" not in page and "泉州刺桐数据有限公司" not in page


def test_the_vendor_page_of_an_sme_is_not_found(client: FlaskClient, session: Session) -> None:
    firm = make_org(OrgKind.SME, name="漳州小微企业")

    response = client.get(f"/vendors/{firm.id}")

    assert response.status_code == 404
    assert "漳州小微企业" not in response.get_data(as_text=True)


def test_the_page_of_a_suspended_vendor_is_not_found(
    client: FlaskClient, session: Session, vendor: Organization
) -> None:
    vendor.status = OrgStatus.SUSPENDED
    session.flush()

    response = client.get(f"/vendors/{vendor.id}")

    assert response.status_code == 404
    assert "闽江进销存" not in response.get_data(as_text=True)


def test_the_page_of_a_vendor_with_nothing_on_show_is_not_found(
    client: FlaskClient, session: Session
) -> None:
    idle = make_org(OrgKind.VENDOR, name="莆田未上架软件")
    publish_listing(idle, status="in_review")

    assert client.get(f"/vendors/{idle.id}").status_code == 404


@pytest.mark.parametrize("path", ["/vendors/2000000000", "/vendors/0", "/vendors/abc"])
def test_an_unknown_vendor_is_not_found(client: FlaskClient, session: Session, path: str) -> None:
    assert client.get(path).status_code == 404


def test_listing_pages_and_cards_link_to_the_vendor_page(
    client: FlaskClient, vendor: Organization
) -> None:
    listing_page = client.get(f"/services/{vendor.id}/erp").get_data(as_text=True)
    browse_page = client.get("/services").get_data(as_text=True)

    link = f'href="/vendors/{vendor.id}"'
    assert link in listing_page and link in browse_page
    assert "&lt;a" not in listing_page


def test_the_vendor_page_counts_its_services_in_english(
    client: FlaskClient, vendor: Organization
) -> None:
    publish_listing(vendor, name_zh="闽江图书", name_en="Minjiang Books")
    client.post("/lang", data={"lang": "en"})

    page = client.get(f"/vendors/{vendor.id}").get_data(as_text=True)

    assert "3 services on the marketplace" in page
    assert "Minjiang Books" in page
