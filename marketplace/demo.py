"""Demo data for `make run`: Fujian parks, vendors and firms, loaded only into an empty database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.accounts.services import create_confirmed_user
from marketplace.audit.services import Actor
from marketplace.clock import Clock, current_clock
from marketplace.extensions import db
from marketplace.firms.services import (
    FirmDetails,
    approve_park_request,
    register_firm,
    request_to_join_park,
)
from marketplace.firms.uscc import make_uscc
from marketplace.orgs.models import Organization, OrgKind
from marketplace.orgs.services import create_operator, create_organization

DEMO_PASSWORD = "yunshi-demo-2026"  # noqa: S105 (published demo logins)
DOMAIN = "yunshi.example"
OPERATOR_EMAIL = f"operator@{DOMAIN}"


@dataclass(frozen=True)
class DemoFirm:
    """One demo SME: who owns it and what it registers."""

    owner_name: str
    owner_email: str
    details: FirmDetails
    parks: tuple[str, ...]
    approved: bool


def _code(region: str, org8: str, *, check_ok: bool = True) -> str:
    code = make_uscc("9", "1", region, org8)
    if check_ok:
        return code
    # An early pilot-area code: genuine, but its last check character does not verify.
    return code[:17] + ("0" if code[17] != "0" else "1")


PARKS = {
    "fuzhou": ("福州软件园", "林晓峰", f"admin@fzsp.{DOMAIN}"),
    "xiamen": ("厦门软件园", "陈雅琳", f"admin@xmsp.{DOMAIN}"),
}
VENDORS = (
    ("福州云帆信息技术有限公司", "郑志强", f"owner@yunfan.{DOMAIN}"),
    ("厦门海鹭软件有限公司", "黄晓梅", f"owner@hailu.{DOMAIN}"),
    ("泉州智造云服务有限公司", "吴建华", f"owner@zhizaoyun.{DOMAIN}"),
)
FIRMS = (
    DemoFirm(
        "王丽华",
        f"wang@ludao.{DOMAIN}",
        FirmDetails(
            "厦门鹭岛信息科技有限公司",
            _code("350200", "MA2XK7Q3"),
            "350200",
            "software_it",
            "80",
            "600",
            "450",
            "2016-05-12",
        ),
        ("xiamen",),
        True,
    ),
    DemoFirm(
        "陈国栋",
        f"chen@mjzz.{DOMAIN}",
        FirmDetails(
            "福州闽江智造机械有限公司",
            _code("350100", "MA31UE7D"),
            "350100",
            "industry",
            "420",
            "18000",
            "9600",
            "2009-03-02",
        ),
        ("fuzhou",),
        True,
    ),
    DemoFirm(
        "林美玲",
        f"lin@citong.{DOMAIN}",
        FirmDetails(
            "泉州刺桐茶叶贸易有限公司",
            _code("350500", "MA2YB8R6"),
            "350500",
            "wholesale",
            "12",
            "3500",
            "",
            "2018-09-20",
        ),
        ("fuzhou",),
        False,
    ),
    DemoFirm(
        "张伟",
        f"zhang@rongcheng.{DOMAIN}",
        FirmDetails(
            "福州榕城餐饮管理有限公司",
            _code("350100", "MA8RT2N5"),
            "350100",
            "catering",
            "8",
            "90",
            "",
            "2021-01-15",
        ),
        (),
        False,
    ),
    DemoFirm(
        "郭志明",
        f"guo@jiulongjiang.{DOMAIN}",
        FirmDetails(
            "漳州九龙江物流有限公司",
            _code("350600", "MA34HQ9L"),
            "350600",
            "transport",
            "150",
            "5000",
            "",
            "2012-07-01",
        ),
        ("xiamen",),
        True,
    ),
    DemoFirm(
        "许丽",
        f"xu@mulanxi.{DOMAIN}",
        FirmDetails(
            "莆田木兰溪鞋业有限公司",
            _code("350300", "15612845", check_ok=False),
            "350300",
            "industry",
            "45",
            "1200",
            "",
            "2003-11-08",
        ),
        (),
        False,
    ),
)

demo_cli = AppGroup("demo", help="Demo data.")

# Other parts of the app add their demo data here; marketplace imports none of them.
DemoLoader = Callable[[Session, Clock], None]
EXTRA_LOADERS: list[DemoLoader] = []


def register_demo_loader(loader: DemoLoader) -> None:
    """Have load_demo run a loader after the marketplace's own demo data, once."""
    if loader not in EXTRA_LOADERS:
        EXTRA_LOADERS.append(loader)


def is_empty(session: Session) -> bool:
    """Tell whether the database has no users yet."""
    return session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def _user(session: Session, clock: Clock, name: str, email: str) -> User:
    return create_confirmed_user(
        session, clock, display_name=name, email=email, password=DEMO_PASSWORD
    )


def _load_parks(session: Session, clock: Clock, operator: Actor) -> dict[str, Organization]:
    parks = {}
    for key, (name, admin_name, email) in PARKS.items():
        admin = _user(session, clock, admin_name, email)
        parks[key] = create_organization(
            session, clock, kind=OrgKind.PARK, name=name, owner=admin, actor=operator
        )
    return parks


def _load_vendors(session: Session, clock: Clock, operator: Actor) -> None:
    for name, owner_name, email in VENDORS:
        owner = _user(session, clock, owner_name, email)
        create_organization(
            session, clock, kind=OrgKind.VENDOR, name=name, owner=owner, actor=operator
        )


def _load_firm(
    session: Session, clock: Clock, firm: DemoFirm, parks: dict[str, Organization]
) -> None:
    owner = _user(session, clock, firm.owner_name, firm.owner_email)
    profile = register_firm(session, clock, Actor(owner.id), firm.details)
    actor = Actor(owner.id, profile.organization_id)
    for key in firm.parks:
        park = parks[key]
        request = request_to_join_park(
            session, clock, actor, profile.organization_id, park.id, "希望申请入园并享受上云补贴。"
        )
        if firm.approved:
            park_admin = park.memberships[0].user_id
            approve_park_request(session, clock, Actor(park_admin, park.id), park.id, request.id)


def demo_logins() -> list[tuple[str, str]]:
    """Return (who, email) of every demo login."""
    logins = [("operator 平台运营", OPERATOR_EMAIL)]
    logins += [(f"park admin 园区 {name}", email) for name, _a, email in PARKS.values()]
    logins += [(f"vendor 服务商 {name}", email) for name, _o, email in VENDORS]
    logins += [(f"SME owner 企业 {f.details.legal_name}", f.owner_email) for f in FIRMS]
    return logins


def load_demo(session: Session, clock: Clock) -> list[tuple[str, str]]:
    """Load every demo organization and return (who, email) of each demo login."""
    create_operator(
        session, clock, name="云市平台运营中心", email=OPERATOR_EMAIL, password=DEMO_PASSWORD
    )
    operator_user = session.scalars(sa.select(User).where(User.email == OPERATOR_EMAIL)).one()
    operator = Actor(operator_user.id)
    parks = _load_parks(session, clock, operator)
    _load_vendors(session, clock, operator)
    for firm in FIRMS:
        _load_firm(session, clock, firm, parks)
    for loader in EXTRA_LOADERS:
        loader(session, clock)
    return demo_logins()


@demo_cli.command("load")
def load_command() -> None:
    """Load the demo data into an empty database and print the demo logins."""
    if current_app.config["SETTINGS"].is_production:
        # Known passwords and a published app secret have no place beside real firms.
        raise click.ClickException("Demo data is never loaded in production.")
    session = db.session()
    if is_empty(session):
        load_demo(session, current_clock())
    elif session.scalar(sa.select(User.id).where(User.email == OPERATOR_EMAIL)) is None:
        click.echo("Demo data not loaded: the database already has users.")
        return
    else:
        click.echo("Demo data already loaded.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for who, email in demo_logins():
        click.echo(f"  {email:<32} {who}")
