"""A program version's rules as stored JSON, checked field by field, and back.

The JSON form is what a version row holds and what the park console and the API submit:

    {"priority": 100, "stackable": false,
     "invoices_from": "2026-01-01", "invoices_until": "2026-12-31",
     "rate_steps": [{"starts_on": "2026-01-01", "default_rate": "0.5",
                     "layer_rates": {"iaas": "0.4"}}],
     "caps": {"per_invoice_fen": null, "per_firm_fen": 200000,
              "first_claim_fen": null, "later_claim_fen": null},
     "qualifying": {"category_ids": [], "listing_ids": [], "vendor_ids": [],
                    "min_amount_fen": 0},
     "eligibility": {"size_classes": ["micro", "small", "medium"], "industry_codes": [],
                     "legal_forms": [], "min_months_registered": 0,
                     "exclude_dishonest": true, "first_time_buyers_only": false,
                     "park_members_only": true},
     "vendor_quotas_fen": {"12": 100000}}

Errors name the field by its path (marshmallow's nested messages), so a form or an API
client is told exactly which rule is wrong and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from billing.subsidies.eligibility import Eligibility
from billing.subsidies.rules import Caps, Layer, ProgramRules, Qualifying, RateStep

# Large enough for any park's program (¥10 billion), small enough to stay far from overflow.
FEN_MAX = 1_000_000_000_000
PRIORITY_MAX = 10_000
MONTHS_MAX = 1200
LIST_MAX = 1000
SIZE_CLASSES = ("micro", "small", "medium", "large")
LEGAL_FORMS = ("enterprise", "sole_proprietor", "cooperative", "other")
RATE = validate.Range(min=Decimal(0), max=Decimal(1), error=_l("Enter a rate from 0 to 1."))
FEN = validate.Range(min=0, max=FEN_MAX, error=_l("Enter an amount from 0 to ¥10,000,000,000."))


def _fen(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=FEN, **kwargs)


def _ids() -> fields.List:
    return fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=LIST_MAX),
    )


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class RateStepSchema(_Strict):
    """One step of the rate schedule."""

    starts_on = fields.Date(required=True)
    default_rate = fields.Decimal(required=True, validate=RATE, as_string=True, places=None)
    layer_rates = fields.Dict(
        keys=fields.String(validate=validate.OneOf([layer.value for layer in Layer])),
        values=fields.Decimal(validate=RATE, as_string=True),
        load_default=dict,
    )


class CapsSchema(_Strict):
    """The program's caps; null means no cap."""

    per_invoice_fen = _fen(load_default=None, allow_none=True)
    per_firm_fen = _fen(load_default=None, allow_none=True)
    first_claim_fen = _fen(load_default=None, allow_none=True)
    later_claim_fen = _fen(load_default=None, allow_none=True)


class QualifyingSchema(_Strict):
    """Which purchases qualify; an empty list admits any."""

    category_ids = _ids()
    listing_ids = _ids()
    vendor_ids = _ids()
    min_amount_fen = _fen(load_default=0)


class EligibilitySchema(_Strict):
    """Which firms qualify."""

    size_classes = fields.List(
        fields.String(validate=validate.OneOf(SIZE_CLASSES)),
        required=True,
        validate=validate.Length(min=1, error=_l("Choose at least one size class.")),
    )
    industry_codes = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        load_default=list,
        validate=validate.Length(max=LIST_MAX),
    )
    legal_forms = fields.List(
        fields.String(validate=validate.OneOf(LEGAL_FORMS)), load_default=list
    )
    min_months_registered = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=MONTHS_MAX)
    )
    exclude_dishonest = fields.Boolean(load_default=True)
    first_time_buyers_only = fields.Boolean(load_default=False)
    park_members_only = fields.Boolean(load_default=True)


class RulesSchema(_Strict):
    """A program version's rules."""

    priority = fields.Integer(
        strict=True, load_default=100, validate=validate.Range(min=0, max=PRIORITY_MAX)
    )
    stackable = fields.Boolean(load_default=False)
    invoices_from = fields.Date(required=True)
    invoices_until = fields.Date(required=True)
    rate_steps = fields.List(
        fields.Nested(RateStepSchema),
        required=True,
        validate=validate.Length(min=1, max=20, error=_l("Give from 1 to 20 rate steps.")),
    )
    caps = fields.Nested(CapsSchema, required=True)
    qualifying = fields.Nested(QualifyingSchema, required=True)
    eligibility = fields.Nested(EligibilitySchema, required=True)
    vendor_quotas_fen = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[1-9][0-9]{0,9}$")),
        values=_fen(),
        load_default=dict,
        validate=validate.Length(max=LIST_MAX),
    )

    @pre_load
    def _default_sections(self, data: Any, **_: Any) -> Any:
        # Absent caps and qualifying sections mean no caps and any purchase.
        if isinstance(data, Mapping):
            data = {"caps": {}, "qualifying": {}} | dict(data)
        return data

    @validates_schema(skip_on_field_errors=True)
    def _check_together(self, data: Mapping[str, Any], **_: Any) -> None:
        if data["invoices_from"] > data["invoices_until"]:
            raise ValidationError(
                str(_l("The window must not end before it starts.")), "invoices_until"
            )
        starts = [step["starts_on"] for step in data["rate_steps"]]
        if starts != sorted(set(starts)):
            raise ValidationError(
                str(_l("Rate steps must start on different days, earliest first.")), "rate_steps"
            )


def check_rules(data: Any) -> dict[str, Any]:
    """Check submitted rules; return them in their stored JSON form.

    Raises marshmallow.ValidationError whose messages are keyed by field path.
    """
    if not isinstance(data, Mapping):
        raise ValidationError({"rules": [str(_l("Send the rules as an object."))]})
    loaded = RulesSchema().load(data)
    return dump_rules(loaded)


def dump_rules(loaded: Mapping[str, Any]) -> dict[str, Any]:
    """Return loaded rules (dates, Decimals) as JSON-safe values."""
    return dict(RulesSchema().dump(loaded))


def rules_of(
    program_id: int, version: int, budget_fen: int, stored: Mapping[str, Any]
) -> ProgramRules:
    """Build the engine's ProgramRules from a stored version and the program's live budget."""
    data = RulesSchema().load(dict(stored))
    caps, qualifying, eligibility = data["caps"], data["qualifying"], data["eligibility"]
    return ProgramRules(
        program_id=program_id,
        version=version,
        priority=data["priority"],
        stackable=data["stackable"],
        invoices_from=data["invoices_from"],
        invoices_until=data["invoices_until"],
        rate_steps=tuple(
            RateStep(
                step["starts_on"],
                Decimal(step["default_rate"]),
                {Layer(k): Decimal(v) for k, v in step["layer_rates"].items()},
            )
            for step in data["rate_steps"]
        ),
        caps=Caps(**caps),
        qualifying=Qualifying(
            frozenset(qualifying["category_ids"]),
            frozenset(qualifying["listing_ids"]),
            frozenset(qualifying["vendor_ids"]),
            qualifying["min_amount_fen"],
        ),
        eligibility=Eligibility(
            size_classes=frozenset(eligibility["size_classes"]),
            industry_codes=frozenset(eligibility["industry_codes"]),
            legal_forms=frozenset(eligibility["legal_forms"]),
            min_months_registered=eligibility["min_months_registered"],
            exclude_dishonest=eligibility["exclude_dishonest"],
            first_time_buyers_only=eligibility["first_time_buyers_only"],
            park_members_only=eligibility["park_members_only"],
        ),
        budget_fen=budget_fen,
        vendor_quotas_fen={int(k): v for k, v in data["vendor_quotas_fen"].items()},
    )
