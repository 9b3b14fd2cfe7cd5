"""What the vendor catalog API accepts and answers: marshmallow load and dump schemas.

Load schemas check shapes and bounds at the edge; the catalog services check the rules
(slugs, categories, URLs, price structures) and name the field when one is broken.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from catalog.models import (
    BillingInterval,
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    PlanStatus,
    ReviewStatus,
)
from catalog.pricing import Aggregation, ComponentKind, PriceModel
from catalog.services.content import content_of
from catalog.services.listings import latest_version, published_version
from catalog.services.plans import plan_terms
from marketplace.pagination import PageQuerySchema, page_schema
from marketplace.urls import AppUrlProblem, app_url_problem

MAX_FEN = 10**12  # ten billion yuan: far above any price, far below what the columns hold
MAX_COUNT = 10**9
# PostgreSQL text cannot hold NUL, so such a string is refused here rather than by the database.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Must not contain NUL characters.")
URL_MAX = 500
MAX_REDIRECT_URIS = 10
# A developer's own machine may run the app without TLS; nothing else may.
ABSOLUTE_URL = "Enter an absolute URL such as https://app.example/callback."


def _text(most: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(max=most), NO_NUL], **kwargs)


def _fen(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(0, MAX_FEN), **kwargs)


def _count(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(0, MAX_COUNT), **kwargs)


def _quantity_in_range(value: Decimal) -> None:
    # A function, not validate.Range: the document would show Range's bounds as strings.
    if not 0 <= value <= MAX_FEN:
        raise ValidationError(f"Must be between 0 and {MAX_FEN}.")


def _quantity(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(validate=_quantity_in_range, **kwargs)


APP_URL_MESSAGES = {
    AppUrlProblem.SPACES: "A URL must not contain spaces or control characters.",
    AppUrlProblem.NOT_ABSOLUTE: ABSOLUTE_URL,
    AppUrlProblem.PLAIN_HTTP: (
        "Use https://; plain http is allowed only for localhost, 127.0.0.1 and [::1]."
    ),
    AppUrlProblem.CREDENTIALS: "Leave the user name and password out of the URL.",
    AppUrlProblem.FRAGMENT: "Leave out the #fragment.",
}


def _check_app_url(value: str) -> None:
    """Refuse a URL that users' browsers should not be sent to with a login or to an app."""
    problem = app_url_problem(value)
    if problem is not None:
        raise ValidationError(APP_URL_MESSAGES[problem])


def _check_launch_url(value: str) -> None:
    if value.strip():  # an empty launch URL clears it
        _check_app_url(value)


class RedirectUriList(fields.List):
    """A list of distinct redirect URIs; a repeated one is named by its index."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> list[Any]:
        uris: list[Any] = super()._deserialize(value, attr, data, **kwargs)
        seen: dict[str, int] = {}
        repeated: dict[int, list[str]] = {}
        for index, uri in enumerate(uris):
            key = uri.strip()
            if key in seen:
                repeated[index] = [f"Repeats the redirect URI at index {seen[key]}."]
            seen.setdefault(key, index)
        if repeated:
            raise ValidationError(repeated)
        return uris


def _redirect_uris() -> fields.List:
    uri = fields.String(validate=[validate.Length(max=URL_MAX), NO_NUL, _check_app_url])
    return RedirectUriList(
        uri,
        validate=validate.Length(
            max=MAX_REDIRECT_URIS, error="At most {max} redirect URIs are allowed."
        ),
        metadata={
            "description": "Where single sign-on may send users back: distinct absolute https"
            " URLs (http only on localhost, 127.0.0.1 or [::1]), with no user name, password"
            " or #fragment; at most 10."
        },
    )


def _content_fields(*, creating: bool) -> dict[str, fields.Field]:
    """Return the content fields of a listing; names and the service layer needed to create."""
    return {
        "name_zh": _text(200, required=creating, metadata={"description": "Name in Chinese."}),
        "name_en": _text(200, required=creating, metadata={"description": "Name in English."}),
        "summary_zh": _text(500),
        "summary_en": _text(500),
        "description_md": _text(20_000, metadata={"description": "Markdown, rendered safely."}),
        "layer_category": _text(
            40, required=creating, metadata={"description": "Service layer: iaas, paas or saas."}
        ),
        "business_categories": fields.List(_text(40), validate=validate.Length(max=20)),
        "logo_url": _text(500, allow_none=True),
        "screenshots": fields.List(_text(500), validate=validate.Length(max=8)),
        "support_email": _text(254, allow_none=True),
        "support_phone": _text(40, allow_none=True),
        "launch_url": fields.String(
            allow_none=True,
            validate=[validate.Length(max=URL_MAX), NO_NUL, _check_launch_url],
            metadata={
                "description": "Where the app opens: an absolute https URL (http only on a"
                " loopback host), with no user name, password or #fragment; empty clears it."
            },
        ),
        "sso_redirect_uris": _redirect_uris(),
    }


ListingCreateSchema = Schema.from_dict(
    {
        "slug": _text(
            80, required=True, metadata={"description": "3-60 lower-case letters, digits, dashes."}
        ),
        **_content_fields(creating=True),
    },
    name="ListingCreate",
)
ListingCreateSchema.__doc__ = "A new listing: its slug and first content, kept as a draft."

ListingUpdateSchema = Schema.from_dict(_content_fields(creating=False), name="ListingUpdate")
ListingUpdateSchema.__doc__ = "Content fields to change in the listing's draft; at least one."


class TierSchema(Schema):
    """One tier of a metered price: up to a quantity (null: no limit), its unit and flat fee."""

    up_to = _quantity(allow_none=True, as_string=True)
    unit_amount_fen = _fen()
    flat_amount_fen = _fen()


class ComponentSchema(Schema):
    """One price component of a plan: a flat fee, a per-seat fee or a metered dimension."""

    kind = fields.String(required=True, validate=validate.OneOf(list(ComponentKind)))
    amount_fen = _fen(allow_none=True, metadata={"description": "Flat fee per interval."})
    unit_amount_fen = _fen(allow_none=True, metadata={"description": "Per seat or per unit."})
    min_seats = _count(allow_none=True)
    max_seats = _count(allow_none=True)
    dimension = _text(64, allow_none=True, metadata={"description": "Metered dimension key."})
    unit_name_zh = _text(40, allow_none=True)
    unit_name_en = _text(40, allow_none=True)
    aggregation = fields.String(validate=validate.OneOf(list(Aggregation)))
    model = fields.String(allow_none=True, validate=validate.OneOf(list(PriceModel)))
    package_size = _count(allow_none=True)
    package_amount_fen = _fen(allow_none=True)
    included_quantity = _quantity(allow_none=True, as_string=True)
    tiers = fields.List(fields.Nested(TierSchema))


def _plan_fields() -> dict[str, fields.Field]:
    return {
        "name_zh": _text(200, required=True),
        "name_en": _text(200, required=True),
        "currency": _text(3, metadata={"description": "ISO 4217 code; CNY when omitted."}),
        "billing_interval": fields.String(validate=validate.OneOf(list(BillingInterval))),
        "trial_days": _count(),
        "auto_activate": fields.Boolean(truthy={True}, falsy={False}),
        "components": fields.List(fields.Nested(ComponentSchema), required=True),
    }


PlanCreateSchema = Schema.from_dict(
    {"code": _text(40, required=True, metadata={"description": "Stable plan code."})}
    | _plan_fields(),
    name="PlanCreate",
)
PlanCreateSchema.__doc__ = "A new plan of a listing, with its price components."

PlanTermsSchema = Schema.from_dict(_plan_fields(), name="PlanTerms")
PlanTermsSchema.__doc__ = (
    "A plan's new terms: a draft changes in place, a published one gets a version."
)


class ListingQuerySchema(PageQuerySchema):
    """Paging, and the listing status to keep."""

    status = fields.String(
        load_default=None,
        validate=validate.OneOf(list(ListingStatus)),
        metadata={"description": "Only listings in this status."},
    )


class VersionSchema(Schema):
    """One version of a listing's content, and where it stands in review."""

    version = fields.Integer(required=True)
    review_status = fields.String(required=True, validate=validate.OneOf(list(ReviewStatus)))
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    summary_zh = fields.String(required=True)
    summary_en = fields.String(required=True)
    description_md = fields.String(required=True)
    layer_category = fields.String(required=True, allow_none=True)
    business_categories = fields.List(fields.String(), required=True)
    logo_url = fields.String(required=True, allow_none=True)
    screenshots = fields.List(fields.String(), required=True)
    support_email = fields.String(required=True, allow_none=True)
    support_phone = fields.String(required=True, allow_none=True)
    launch_url = fields.String(required=True, allow_none=True)
    sso_redirect_uris = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    submitted_at = fields.DateTime(required=True, allow_none=True)
    published_at = fields.DateTime(required=True, allow_none=True)


class PlanSchema(Schema):
    """One version of a plan: its terms, price components and status."""

    id = fields.Integer(required=True)
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(PlanStatus)))
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    currency = fields.String(required=True)
    billing_interval = fields.String(required=True)
    trial_days = fields.Integer(required=True)
    auto_activate = fields.Boolean(required=True)
    components = fields.List(fields.Nested(ComponentSchema), required=True)
    created_at = fields.DateTime(required=True)
    published_at = fields.DateTime(required=True, allow_none=True)


class ListingSchema(Schema):
    """A vendor's listing: status, why it was rejected, its draft and published content, plans."""

    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(ListingStatus)))
    rejection_reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Why the operator rejected it."}
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    draft = fields.Nested(
        VersionSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The version being edited or reviewed; null when none is."},
    )
    published = fields.Nested(
        VersionSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The version the storefront shows; null before approval."},
    )
    plans = fields.List(fields.Nested(PlanSchema), required=True)


class ListingItemSchema(Schema):
    """A listing in the vendor's list: its status and newest names."""

    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(ListingStatus)))
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    rejection_reason = fields.String(required=True, allow_none=True)
    updated_at = fields.DateTime(required=True)


ListingPageSchema = page_schema(ListingItemSchema, "ListingPage")


def version_data(version: ListingVersion) -> dict[str, Any]:
    """Return a listing version as VersionSchema dumps it."""
    data = content_of(version)
    meta = ("version", "review_status", "created_at", "submitted_at", "published_at")
    return data | {field: getattr(version, field) for field in meta}


def plan_data(plan: Plan) -> dict[str, Any]:
    """Return a plan version as PlanSchema dumps it."""
    meta = ("id", "code", "version", "status", "created_at", "published_at")
    return plan_terms(plan) | {field: getattr(plan, field) for field in meta}


def listing_data(listing: Listing) -> dict[str, Any]:
    """Return a listing with its draft, published version and plans, as ListingSchema dumps it."""
    latest, published = latest_version(listing), published_version(listing)
    draft = None if latest is published else latest
    plans = sorted(listing.plans, key=lambda p: (p.code, p.version))
    return {
        "id": listing.id,
        "slug": listing.slug,
        "status": listing.status,
        "rejection_reason": listing.rejection_reason,
        "created_at": listing.created_at,
        "updated_at": listing.updated_at,
        "draft": version_data(draft) if draft is not None else None,
        "published": version_data(published) if published is not None else None,
        "plans": [plan_data(plan) for plan in plans],
    }


def listing_item_data(listing: Listing) -> dict[str, Any]:
    """Return a listing as ListingItemSchema dumps it, named by its newest version."""
    latest = latest_version(listing)
    return {
        "id": listing.id,
        "slug": listing.slug,
        "status": listing.status,
        "name_zh": latest.name_zh,
        "name_en": latest.name_en,
        "rejection_reason": listing.rejection_reason,
        "updated_at": listing.updated_at,
    }
