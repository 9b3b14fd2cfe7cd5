"""Vendors' plans: add one to a listing, or revise it (a published plan gets a new version)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from catalog.models import BillingInterval, Listing, Plan, PlanStatus, PriceComponent, PriceTier
from catalog.plans import component_price
from catalog.pricing import Aggregation, ComponentKind, PlanPrice, PriceModel, PriceStructureError
from catalog.services.content import Problems
from catalog.services.listings import (
    audit_and_announce,
    editable_version,
    listing_of,
    vendor_org,
)
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.errors import NotFound

CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
NAME_MIN, NAME_MAX = 2, 100
UNIT_NAME_MAX = 40
TRIAL_DAYS_MAX = 365
MAX_COMPONENTS = 20
PLAN_FIELDS = frozenset(
    {"name_zh", "name_en", "currency", "billing_interval", "trial_days", "auto_activate"}
)
INTEGER_FIELDS = (
    "amount_fen",
    "unit_amount_fen",
    "min_seats",
    "max_seats",
    "package_size",
    "package_amount_fen",
)
# The price calculator names fields after its own structure; callers name them as stored.
CALCULATOR_NAMES = {
    "unit_fen": "unit_amount_fen",
    "package_fen": "package_amount_fen",
    "flat_fen": "flat_amount_fen",
}
CURRENCY = re.compile(r"[A-Z]{3}")


def _integer(problems: Problems, field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(field, _("Must be a whole number."))
        return None
    if value < 0:
        problems.add(field, _("Must not be negative."))
    return value


def _quantity(problems: Problems, field: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        quantity = Decimal("NaN")
    if isinstance(value, bool) or not quantity.is_finite():
        problems.add(field, _("Must be a number."))
        return None
    return quantity


def _choice(problems: Problems, field: str, value: Any, choices: list[str]) -> str | None:
    if value not in choices:
        problems.add(field, _("Choose one of: %(choices)s.", choices=", ".join(choices)))
        return None
    return str(value)


def _tiers(problems: Problems, path: str, value: Any) -> list[PriceTier]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(f"{path}.tiers", _("Must be a list of tiers."))
        return []
    tiers = []
    for n, raw in enumerate(value):
        where = f"{path}.tiers[{n}]"
        if not isinstance(raw, Mapping):
            problems.add(where, _("Must be an object."))
            continue
        tiers.append(
            PriceTier(
                position=n,
                up_to=_quantity(problems, f"{where}.up_to", raw.get("up_to")),
                unit_amount_fen=_integer(
                    problems, f"{where}.unit_amount_fen", raw.get("unit_amount_fen")
                )
                or 0,
                flat_amount_fen=_integer(
                    problems, f"{where}.flat_amount_fen", raw.get("flat_amount_fen")
                )
                or 0,
            )
        )
    return tiers


def _component(problems: Problems, path: str, raw: Any, position: int) -> PriceComponent | None:
    if not isinstance(raw, Mapping):
        problems.add(path, _("Must be an object."))
        return None
    kind = _choice(problems, f"{path}.kind", raw.get("kind"), list(ComponentKind))
    row = PriceComponent(position=position, kind=kind or ComponentKind.FLAT)
    for field in INTEGER_FIELDS:
        setattr(row, field, _integer(problems, f"{path}.{field}", raw.get(field)))
    if kind == ComponentKind.SEAT and row.min_seats is None:
        row.min_seats = 1
    if kind == ComponentKind.METERED:
        row.dimension = raw.get("dimension") if isinstance(raw.get("dimension"), str) else None
        row.unit_name_zh = _short(problems, f"{path}.unit_name_zh", raw.get("unit_name_zh"))
        row.unit_name_en = _short(problems, f"{path}.unit_name_en", raw.get("unit_name_en"))
        row.aggregation = _choice(
            problems, f"{path}.aggregation", raw.get("aggregation", "sum"), list(Aggregation)
        )
        row.model = _choice(problems, f"{path}.model", raw.get("model"), list(PriceModel))
        included = _quantity(problems, f"{path}.included_quantity", raw.get("included_quantity"))
        row.included_quantity = included if included is not None else Decimal(0)
        row.tiers = _tiers(problems, path, raw.get("tiers"))
    return row


def _short(problems: Problems, field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > UNIT_NAME_MAX:
        problems.add(field, _("Must be at most %(high)d characters.", high=UNIT_NAME_MAX))
        return None
    return value.strip() or None


def _components(problems: Problems, value: Any) -> list[PriceComponent]:
    if not isinstance(value, list) or not value:
        problems.add("components", _("A plan needs at least one price component."))
        return []
    if len(value) > MAX_COMPONENTS:
        problems.add("components", _("At most %(most)d components.", most=MAX_COMPONENTS))
    rows = [_component(problems, f"components[{n}]", raw, n) for n, raw in enumerate(value)]
    return [row for row in rows if row is not None]


def _check_structure(problems: Problems, components: list[PriceComponent]) -> None:
    """Let the price calculator build the plan's price: what it cannot rate, no one can bill."""
    prices = []
    for n, component in enumerate(components):
        try:
            prices.append(component_price(component))
        except PriceStructureError as error:
            field = CALCULATOR_NAMES.get(error.field, error.field)
            problems.add(f"components[{n}].{field}", error.reason)
    if problems.errors:
        return
    try:
        PlanPrice(tuple(prices))
    except PriceStructureError as error:
        problems.add("components", error.reason)


def _plan_terms(problems: Problems, terms: Mapping[str, Any]) -> dict[str, Any]:
    for field in terms:
        if field not in PLAN_FIELDS and field not in ("code", "components"):
            problems.add(field, _("Unknown field."))
    cleaned: dict[str, Any] = {}
    for field in ("name_zh", "name_en"):
        name = terms.get(field)
        if not isinstance(name, str) or not NAME_MIN <= len(name.strip()) <= NAME_MAX:
            problems.add(
                field, _("Enter %(low)d to %(high)d characters.", low=NAME_MIN, high=NAME_MAX)
            )
        else:
            cleaned[field] = name.strip()
    currency = terms.get("currency", "CNY")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        problems.add("currency", _("Use a three-letter currency code such as CNY."))
    cleaned["currency"] = currency
    cleaned["billing_interval"] = _choice(
        problems, "billing_interval", terms.get("billing_interval", "month"), list(BillingInterval)
    )
    trial = _integer(problems, "trial_days", terms.get("trial_days", 0))
    if trial is not None and trial > TRIAL_DAYS_MAX:
        problems.add("trial_days", _("Must be at most %(high)d days.", high=TRIAL_DAYS_MAX))
    cleaned["trial_days"] = trial or 0
    auto = terms.get("auto_activate", False)
    if not isinstance(auto, bool):
        problems.add("auto_activate", _("Must be true or false."))
    cleaned["auto_activate"] = bool(auto)
    return cleaned


def _checked_plan(
    problems: Problems, terms: Mapping[str, Any]
) -> tuple[dict[str, Any], list[PriceComponent]]:
    """Return a plan's checked terms and components, or raise ValidationFailed naming fields."""
    cleaned = _plan_terms(problems, terms)
    components = _components(problems, terms.get("components"))
    if not problems.errors:
        _check_structure(problems, components)
    problems.raise_any()
    return cleaned, components


def _plan_versions(session: Session, listing: Listing, code: str) -> list[Plan]:
    stmt = (
        sa.select(Plan)
        .where(Plan.listing_id == listing.id, Plan.code == code)
        .order_by(Plan.version)
    )
    return list(session.scalars(stmt))


def plan_terms(plan: Plan) -> dict[str, Any]:
    """Return a plan's terms and components as plain values, for audit and review diffs."""
    return {
        "name_zh": plan.name_zh,
        "name_en": plan.name_en,
        "currency": plan.currency,
        "billing_interval": plan.billing_interval,
        "trial_days": plan.trial_days,
        "auto_activate": plan.auto_activate,
        "components": [_component_terms(c) for c in plan.components],
    }


def _component_terms(component: PriceComponent) -> dict[str, Any]:
    fields = ("kind", *INTEGER_FIELDS, "dimension", "unit_name_zh", "unit_name_en")
    terms: dict[str, Any] = {f: getattr(component, f) for f in fields}
    terms |= {"aggregation": component.aggregation, "model": component.model}
    included = component.included_quantity
    terms["included_quantity"] = None if included is None else _decimal_text(included)
    terms["tiers"] = [
        {
            "up_to": None if t.up_to is None else _decimal_text(t.up_to),
            "unit_amount_fen": t.unit_amount_fen,
            "flat_amount_fen": t.flat_amount_fen,
        }
        for t in component.tiers
    ]
    return {k: v for k, v in terms.items() if v not in (None, [])}


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def audited_plan(plan: Plan) -> dict[str, Any]:
    """Return a plan as an audit entry keeps it: components as one JSON text."""
    terms = plan_terms(plan)
    terms["components"] = json.dumps(terms["components"], ensure_ascii=False, sort_keys=True)
    return {"code": plan.code, "version": plan.version, **terms}


def _announce_plan(
    session: Session,
    clock: Clock,
    actor: Actor,
    event: str,
    listing: Listing,
    plan: Plan,
    before: Mapping[str, Any] | None,
) -> None:
    session.flush()
    extra = {"plan_id": plan.id, "plan_code": plan.code, "plan_version": plan.version}
    after = audited_plan(plan)
    audit_and_announce(
        session, clock, actor, event, listing, before=before, after=after, extra=extra
    )


def add_plan(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    terms: Mapping[str, Any],
    *,
    sandbox: bool = False,
) -> Plan:
    """Add a draft plan, built from plain terms and components, to the vendor's listing."""
    vendor_org(session, vendor_id)
    listing = listing_of(session, vendor_id, listing_id, sandbox=sandbox, for_update=True)
    problems = Problems()
    code = terms.get("code")
    if not isinstance(code, str) or not CODE.fullmatch(code):
        problems.add("code", _("Use 1 to 40 lower-case letters, digits, dashes and underscores."))
    elif _plan_versions(session, listing, code):
        problems.add("code", _("This listing already has a plan with this code."))
    cleaned, components = _checked_plan(problems, terms)
    editable_version(session, clock, listing)
    plan = Plan(code=code, version=1, status=PlanStatus.DRAFT, created_at=clock.now(), **cleaned)
    plan.components = components
    listing.plans.append(plan)
    listing.updated_at = clock.now()
    _announce_plan(session, clock, actor, "plan.created", listing, plan, None)
    session.commit()
    return plan


def revise_plan(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    code: str,
    terms: Mapping[str, Any],
    *,
    sandbox: bool = False,
) -> Plan:
    """Replace a plan's terms: a draft in place, a published plan as its next version."""
    vendor_org(session, vendor_id)
    listing = listing_of(session, vendor_id, listing_id, sandbox=sandbox, for_update=True)
    versions = _plan_versions(session, listing, code)
    if not versions:
        raise NotFound(_("This listing has no plan with this code."))
    cleaned, components = _checked_plan(Problems(), terms)
    editable_version(session, clock, listing)
    latest = versions[-1]
    before = audited_plan(latest)
    if latest.status == PlanStatus.DRAFT:
        plan = latest
        for field, value in cleaned.items():
            setattr(plan, field, value)
        plan.components = []
        session.flush()  # the old rows go first: positions are unique per plan
        plan.components = components
    else:
        plan = Plan(
            code=code,
            version=latest.version + 1,
            status=PlanStatus.DRAFT,
            created_at=clock.now(),
            **cleaned,
        )
        plan.components = components
        listing.plans.append(plan)
    listing.updated_at = clock.now()
    _announce_plan(session, clock, actor, "plan.revised", listing, plan, before)
    session.commit()
    return plan
