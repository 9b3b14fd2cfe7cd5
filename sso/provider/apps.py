"""Vendor apps' OpenID Connect clients: one per listing, secrets shown once and stored hashed.

A vendor registers its app's client for one of its live listings, in the console or through
the API: the redirect URIs (seeded from the listing's content), where to send users after
logging out, where "Open app" starts sign-in, and a logo. Every change is audited in the
transaction that makes it; another vendor's listing is as missing as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from catalog.models import Listing
from catalog.services.content import Problems
from catalog.services.listings import latest_version, listing_of, published_version, vendor_org
from catalog.storefront_views import localized
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound
from marketplace.urls import AppUrlProblem
from marketplace.urls import app_url_problem as check_app_url
from sso.credentials import digest, new_app_client_id, new_client_secret, well_formed_client_id
from sso.provider.models import AppClient

URL_MAX = 500
MAX_URIS = 10
URI_LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris")
SINGLE_URL_FIELDS = ("initiate_login_uri", "logo_url")
SETTING_FIELDS = (*URI_LIST_FIELDS, *SINGLE_URL_FIELDS)
# What the audit log keeps of a client: never its secret, nor the secret's digest.
AUDITED_FIELDS = ("listing_id", "client_id", *SETTING_FIELDS, "secret_rotated_at")


@dataclass(frozen=True)
class IssuedSecret:
    """An app client and its secret in clear, which is shown this once."""

    client: AppClient
    client_secret: str


def app_name(listing: Listing) -> str:
    """Name an app by its listing's published content, in the reader's language."""
    version = published_version(listing)
    return localized(version, "name") if version is not None else listing.slug


def app_client_by_client_id(session: Session, client_id: str) -> AppClient | None:
    """Return the app client with that public id, its listing and vendor loaded, if any."""
    if not well_formed_client_id(client_id):
        return None
    return session.scalar(
        sa.select(AppClient)
        .options(joinedload(AppClient.listing).joinedload(Listing.vendor))
        .where(AppClient.client_id == client_id)
    )


def app_client_of_listing(session: Session, listing_id: int) -> AppClient | None:
    """Return the listing's app client, if it has one."""
    return session.scalar(sa.select(AppClient).where(AppClient.listing_id == listing_id))


def create_app_client(
    session: Session,
    clock: Clock,
    listing: Listing,
    *,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    initiate_login_uri: str | None = None,
    logo_url: str | None = None,
) -> IssuedSecret:
    """Make the listing's app client with a fresh secret (the caller commits)."""
    secret = new_client_secret()
    now = clock.now()
    client = AppClient(
        listing_id=listing.id,
        client_id=new_app_client_id(),
        client_secret_hash=digest(secret),
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris or []),
        initiate_login_uri=initiate_login_uri,
        logo_url=logo_url,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.flush()
    return IssuedSecret(client, secret)


@dataclass(frozen=True)
class SavedAppClient:
    """An app client after a save; its secret in clear only when the save created it."""

    client: AppClient
    client_secret: str | None

    @property
    def created(self) -> bool:
        """Tell whether this save made the client."""
        return self.client_secret is not None


def app_url_message(problem: AppUrlProblem) -> str:
    """Return, in the interface language, what to do about a problem with an app's URL."""
    messages: dict[AppUrlProblem, str] = {
        AppUrlProblem.SPACES: _("A web address must not contain spaces or control characters."),
        AppUrlProblem.NOT_ABSOLUTE: _(
            "Enter an absolute web address such as https://app.example/callback."
        ),
        AppUrlProblem.PLAIN_HTTP: _(
            "Use https://; plain http is allowed only for localhost, 127.0.0.1 and [::1]."
        ),
        AppUrlProblem.CREDENTIALS: _("Leave the user name and password out of the web address."),
        AppUrlProblem.FRAGMENT: _("Leave out the #fragment."),
    }
    return messages[problem]


def app_url_problem(value: str) -> str | None:
    """Return why a URL may not be a sign-on address of an app, or None when it may.

    The catalog's rule for app URLs (marketplace.urls.app_url_problem), at most 500
    characters.
    """
    if len(value.strip()) > URL_MAX:
        return str(_("Enter a web address of at most %(high)d characters.", high=URL_MAX))
    problem = check_app_url(value)
    return app_url_message(problem) if problem is not None else None


def _uri_list(problems: Problems, field: str, value: Any, *, required: bool) -> list[str]:
    """Return the cleaned, distinct URIs of a list field, noting each problem by its index."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.add(field, _("Must be a list of web addresses."))
        return []
    if required and not value:
        problems.add(field, _("Give at least one redirect URI."))
    if len(value) > MAX_URIS:
        problems.add(field, _("At most %(most)d addresses are allowed.", most=MAX_URIS))
    cleaned: list[str] = []
    for index, item in enumerate(value):
        text, problem = item.strip(), app_url_problem(item)
        if problem is None and text in cleaned:
            problem = _("Repeats the address at index %(index)d.", index=cleaned.index(text))
        if problem is not None:
            problems.add(f"{field}.{index}", problem)
        cleaned.append(text)
    return cleaned


def _single_url(problems: Problems, field: str, value: Any) -> str | None:
    """Return a cleaned URL, None when it is cleared, noting a problem with it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        problems.add(field, _("Must be a web address."))
        return None
    problem = app_url_problem(value)
    if problem is not None:
        problems.add(field, problem)
    return value.strip()


def clean_settings(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return the given settings cleaned, or raise ValidationFailed naming every bad field."""
    problems = Problems()
    cleaned: dict[str, Any] = {}
    for field in URI_LIST_FIELDS:
        if field in changes:
            required = field == "redirect_uris"
            cleaned[field] = _uri_list(problems, field, changes[field], required=required)
    for field in SINGLE_URL_FIELDS:
        if field in changes:
            cleaned[field] = _single_url(problems, field, changes[field])
    unknown = sorted(set(changes) - set(SETTING_FIELDS))
    for field in unknown:
        problems.add(field, _("Unknown field."))
    problems.raise_any()
    return cleaned


def live_listing(
    session: Session,
    vendor_id: int,
    listing_id: int,
    *,
    sandbox: bool | None = None,
    for_update: bool = False,
) -> Listing:
    """Return the vendor's listing that may have an app client, or raise NotFound or Conflict."""
    listing = listing_of(session, vendor_id, listing_id, sandbox=sandbox, for_update=for_update)
    if listing.sandbox:
        raise Conflict(
            _(
                "Single sign-on works only for live listings: a sandbox listing cannot"
                " have a sign-on client."
            )
        )
    return listing


def listing_sign_on(
    session: Session, vendor_id: int, listing_id: int, *, sandbox: bool | None = None
) -> tuple[Listing, AppClient | None]:
    """Return the vendor's live listing and its app client, if it has one yet."""
    listing = live_listing(session, vendor_id, listing_id, sandbox=sandbox)
    return listing, app_client_of_listing(session, listing.id)


def app_client_in(
    session: Session, vendor_id: int, listing_id: int, *, sandbox: bool | None = None
) -> AppClient:
    """Return the app client of the vendor's listing, or raise NotFound."""
    return _existing_client(session, live_listing(session, vendor_id, listing_id, sandbox=sandbox))


def _locked_listing(
    session: Session, vendor_id: int, listing_id: int, sandbox: bool | None
) -> Listing:
    """Return the listing locked, so two saves of its client take turns; refuse if suspended."""
    vendor_org(session, vendor_id)
    return live_listing(session, vendor_id, listing_id, sandbox=sandbox, for_update=True)


def _existing_client(session: Session, listing: Listing) -> AppClient:
    """Return the listing's app client, or raise NotFound."""
    client = app_client_of_listing(session, listing.id)
    if client is None:
        raise NotFound(_("This listing has no single sign-on client yet."))
    return client


def _audit(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    client: AppClient,
    before: dict[str, Any] | None,
    vendor_id: int,
) -> None:
    after = snapshot(client, AUDITED_FIELDS)
    target = ("app_client", client.id)
    record(
        session, clock, actor, action, target, before=before, after=after, subject_org_id=vendor_id
    )


def _create(
    session: Session,
    clock: Clock,
    actor: Actor,
    listing: Listing,
    changes: Mapping[str, Any],
) -> IssuedSecret:
    """Make the listing's client, its redirect URIs seeded from the listing when none are given."""
    settings = dict(changes)
    if not settings.get("redirect_uris"):
        settings["redirect_uris"] = list(latest_version(listing).sso_redirect_uris or [])
    issued = create_app_client(session, clock, listing, **clean_settings(settings))
    _audit(session, clock, actor, "app_client.created", issued.client, None, listing.vendor_id)
    return issued


def _update(
    session: Session, clock: Clock, actor: Actor, client: AppClient, changes: Mapping[str, Any]
) -> bool:
    """Apply the changed settings to the client; tell whether anything changed."""
    cleaned = clean_settings(changes)
    changed = {k: v for k, v in cleaned.items() if getattr(client, k) != v}
    if not changed:
        return False
    before = snapshot(client, AUDITED_FIELDS)
    for field, value in changed.items():
        setattr(client, field, value)
    client.updated_at = clock.now()
    _audit(session, clock, actor, "app_client.updated", client, before, client.listing.vendor_id)
    return True


def create_listing_app_client(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    changes: Mapping[str, Any],
    *,
    sandbox: bool | None = None,
) -> IssuedSecret:
    """Give the vendor's live listing its app client; its secret is shown this once."""
    listing = _locked_listing(session, vendor_id, listing_id, sandbox)
    if app_client_of_listing(session, listing.id) is not None:
        raise Conflict(
            _("This listing already has a sign-on client: change it, or give it a new secret.")
        )
    issued = _create(session, clock, actor, listing, changes)
    session.commit()
    return issued


def update_listing_app_client(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    changes: Mapping[str, Any],
    *,
    sandbox: bool | None = None,
) -> AppClient:
    """Change the given settings of the listing's app client; the others stay."""
    client = _existing_client(session, _locked_listing(session, vendor_id, listing_id, sandbox))
    if _update(session, clock, actor, client, changes):
        session.commit()
    return client


def save_listing_app_client(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    changes: Mapping[str, Any],
    *,
    sandbox: bool | None = None,
) -> SavedAppClient:
    """Create the listing's app client, or change the given settings of the one it has."""
    listing = _locked_listing(session, vendor_id, listing_id, sandbox)
    client = app_client_of_listing(session, listing.id)
    if client is None:
        issued = _create(session, clock, actor, listing, changes)
        session.commit()
        return SavedAppClient(issued.client, issued.client_secret)
    if _update(session, clock, actor, client, changes):
        session.commit()
    return SavedAppClient(client, None)


def rotate_listing_app_client_secret(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    *,
    sandbox: bool | None = None,
) -> IssuedSecret:
    """Give the listing's app client a new secret, shown this once; the old one stops at once.

    Users' grants and their tokens stay: a refresh needs the client's secret, so from now on
    only the new one refreshes them.
    """
    client = _existing_client(session, _locked_listing(session, vendor_id, listing_id, sandbox))
    before = snapshot(client, AUDITED_FIELDS)
    secret = new_client_secret()
    now = clock.now()
    client.client_secret_hash = digest(secret)
    client.secret_rotated_at = client.updated_at = now
    _audit(session, clock, actor, "app_client.secret_rotated", client, before, vendor_id)
    session.commit()
    return IssuedSecret(client, secret)
