"""Check what a vendor says about a listing: names, texts, categories, URLs and contacts."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from catalog.models import Category, CategoryKind, ListingVersion
from marketplace.errors import ValidationFailed
from marketplace.orgs.services import email_address

SLUG = re.compile(r"[a-z0-9-]{3,60}")
PHONE = re.compile(r"[0-9+() -]{5,40}")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
NAME_MIN, NAME_MAX = 2, 100
SUMMARY_MAX = 500
DESCRIPTION_MAX = 20_000
URL_MAX = 500
MAX_SCREENSHOTS = 8
MAX_REDIRECT_URIS = 10

# The fields of a listing's content, as callers name them, in the order a review shows them.
TEXT_FIELDS = ("name_zh", "name_en", "summary_zh", "summary_en", "description_md")
CONTENT_FIELDS = (
    *TEXT_FIELDS,
    "layer_category",
    "business_categories",
    "logo_url",
    "screenshots",
    "support_email",
    "support_phone",
    "launch_url",
    "sso_redirect_uris",
)


class Problems:
    """Collect every field's problems, so one answer names them all."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        """Note a problem with a field."""
        self.errors.setdefault(field, []).append(message)

    def raise_any(self) -> None:
        """Raise ValidationFailed when any problem was noted."""
        if self.errors:
            raise ValidationFailed(self.errors)


def check_slug(problems: Problems, slug: Any) -> str:
    """Return the slug, noting a problem unless it is 3–60 lower-case letters, digits, dashes."""
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        problems.add("slug", _("Use 3 to 60 lower-case letters, digits and dashes."))
        return ""
    return slug


def _text(problems: Problems, field: str, value: Any, low: int, high: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.add(field, _("Must be text."))
        return ""
    text = value.strip()
    if not low <= len(text) <= high:
        if low:
            problems.add(field, _("Enter %(low)d to %(high)d characters.", low=low, high=high))
        else:
            problems.add(field, _("Must be at most %(high)d characters.", high=high))
    return text


def _is_local(host: str | None) -> bool:
    return (host or "").lower() in LOCAL_HOSTS


def _url(problems: Problems, field: str, value: Any, *, secure: bool) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > URL_MAX:
        problems.add(field, _("Enter a web address of at most %(high)d characters.", high=URL_MAX))
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.add(field, _("Enter a web address starting with http:// or https://."))
    elif secure and parts.scheme != "https" and not _is_local(parts.hostname):
        problems.add(field, _("Use https:// (plain http is allowed only for localhost)."))
    return value.strip()


def _url_list(problems: Problems, field: str, value: Any, *, secure: bool, most: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(field, _("Must be a list of web addresses."))
        return []
    if len(value) > most:
        problems.add(field, _("At most %(most)d addresses are allowed.", most=most))
    urls = [_url(problems, f"{field}[{n}]", item, secure=secure) for n, item in enumerate(value)]
    return [url for url in urls if url]


def _email(problems: Problems, value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return email_address(str(value), "support_email")
    except ValidationFailed as error:
        for message in error.errors["support_email"]:
            problems.add("support_email", message)
        return None


def _phone(problems: Problems, value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not PHONE.fullmatch(value.strip()):
        problems.add("support_phone", _("Enter a phone number of digits, spaces, +, - and ()."))
        return None
    return value.strip()


def _categories(
    session: Session, problems: Problems, field: str, codes: list[str], kind: CategoryKind
) -> list[Category]:
    found = {c.code: c for c in session.scalars(sa.select(Category).where(Category.kind == kind))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        message = (
            _("Choose a service layer: iaas, paas or saas.")
            if kind == CategoryKind.LAYER
            else _("Unknown business category: %(codes)s.", codes=", ".join(unknown))
        )
        problems.add(field, message)
    return [found[code] for code in dict.fromkeys(codes) if code in found]


def _layer(session: Session, problems: Problems, value: Any) -> Category | None:
    if not isinstance(value, str) or not value:
        problems.add("layer_category", _("Choose a service layer: iaas, paas or saas."))
        return None
    layers = _categories(session, problems, "layer_category", [value], CategoryKind.LAYER)
    return layers[0] if layers else None


def _business(session: Session, problems: Problems, value: Any) -> list[Category]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        problems.add("business_categories", _("Must be a list of category codes."))
        return []
    return _categories(session, problems, "business_categories", value, CategoryKind.BUSINESS)


def clean_content(
    session: Session, problems: Problems, content: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the checked content fields present in content, as version attributes."""
    for field in content:
        if field not in CONTENT_FIELDS:
            problems.add(field, _("Unknown field."))
    limits = {"name_zh": (NAME_MIN, NAME_MAX), "name_en": (NAME_MIN, NAME_MAX)}
    limits |= {"summary_zh": (0, SUMMARY_MAX), "summary_en": (0, SUMMARY_MAX)}
    limits["description_md"] = (0, DESCRIPTION_MAX)
    cleaned: dict[str, Any] = {
        field: _text(problems, field, content[field], *limits[field])
        for field in TEXT_FIELDS
        if field in content
    }
    checks: dict[str, Callable[[Any], Any]] = {
        "layer_category": lambda v: _layer(session, problems, v),
        "business_categories": lambda v: _business(session, problems, v),
        "logo_url": lambda v: _url(problems, "logo_url", v, secure=False),
        "screenshots": lambda v: _url_list(
            problems, "screenshots", v, secure=False, most=MAX_SCREENSHOTS
        ),
        "support_email": lambda v: _email(problems, v),
        "support_phone": lambda v: _phone(problems, v),
        "launch_url": lambda v: _url(problems, "launch_url", v, secure=True),
        "sso_redirect_uris": lambda v: _url_list(
            problems, "sso_redirect_uris", v, secure=True, most=MAX_REDIRECT_URIS
        ),
    }
    cleaned |= {field: check(content[field]) for field, check in checks.items() if field in content}
    return cleaned


def apply_content(version: ListingVersion, cleaned: Mapping[str, Any]) -> None:
    """Write checked content onto a version."""
    for field, value in cleaned.items():
        setattr(version, field, value)


def content_of(version: ListingVersion) -> dict[str, Any]:
    """Return a version's content as plain values, categories by code, for audit and diffs."""
    values: dict[str, Any] = {field: getattr(version, field) for field in TEXT_FIELDS}
    values["layer_category"] = version.layer_category.code if version.layer_category else None
    values["business_categories"] = [c.code for c in version.business_categories]
    for field in CONTENT_FIELDS[len(TEXT_FIELDS) + 2 :]:
        value = getattr(version, field)
        values[field] = list(value) if isinstance(value, list) else value
    return values
