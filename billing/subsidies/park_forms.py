"""Forms of the park's subsidy pages: a program's details, its rules, and the park's policy.

An admin types yuan and percentages; billing.subsidies.rules_form_data turns the typed data
into rules JSON and back. A refused form shows each message beside the box that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)

from billing.subsidies.models import EnrollmentMode
from billing.subsidies.program_rules import LEGAL_FORMS, SIZE_CLASSES
from billing.subsidies.rules_form_data import form_path
from marketplace.errors import ValidationFailed

STEP_ROWS = 3
K = TypeVar("K", int, str)
QUOTA_ROWS = 5

SIZE_LABELS = {
    "micro": lazy_pgettext("size class", "Micro"),
    "small": lazy_pgettext("size class", "Small"),
    "medium": lazy_pgettext("size class", "Medium"),
    "large": lazy_pgettext("size class", "Large"),
}
LEGAL_FORM_LABELS = {
    "enterprise": _l("Enterprise (企业)"),
    "sole_proprietor": _l("Sole proprietor (个体工商户)"),
    "cooperative": _l("Farmers' cooperative (农民专业合作社)"),
    "other": _l("Other"),
}
ENROLLMENT_LABELS = {
    EnrollmentMode.AUTOMATIC: _l("Automatic: every eligible member firm draws on it"),
    EnrollmentMode.APPLICATION: _l("By application: firms apply, the park decides"),
}

# Choices --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleChoices:
    """What the rules form offers: (value, label) pairs, labels in the reader's language."""

    categories: Sequence[tuple[int, str]]
    listings: Sequence[tuple[int, str]]
    vendors: Sequence[tuple[int, str]]
    industries: Sequence[tuple[str, str]]

    def keeping(self, rules: Mapping[str, Any] | None) -> RuleChoices:
        """Return these choices plus any the stored rules name that are no longer offered.

        A delisted listing stays on a program it was put on until the admin removes it.
        """
        if not rules:
            return self
        qualifying = rules.get("qualifying", {})
        quota_vendors = [int(key) for key in rules.get("vendor_quotas_fen", {})]
        return RuleChoices(
            _kept(self.categories, qualifying.get("category_ids", [])),
            _kept(self.listings, qualifying.get("listing_ids", [])),
            _kept(self.vendors, [*qualifying.get("vendor_ids", []), *quota_vendors]),
            _kept(self.industries, rules.get("eligibility", {}).get("industry_codes", [])),
        )


def _kept(choices: Sequence[tuple[K, str]], values: Iterable[K]) -> list[tuple[K, str]]:
    """Append the values not among the choices, labelled by themselves."""
    offered = {value for value, _label in choices}
    kept = list(choices)
    for value in dict.fromkeys(values):
        if value not in offered:
            kept.append((value, f"#{value}"))
    return kept


def options(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Return (value, label) pairs as the choices of a select."""
    return [SelectChoice(str(value), label) for value, label in pairs]


# Forms ----------------------------------------------------------------------------------------


class RateStepForm(Form):
    """One step of the rate schedule (退坡); a blank layer takes the default rate."""

    starts_on = StringField(_l("Starts on"), render_kw={"type": "date"})
    default_rate = StringField(_l("Rate (%)"), render_kw={"inputmode": "decimal"})
    iaas = StringField(_l("IaaS (%)"), render_kw={"inputmode": "decimal"})
    paas = StringField(_l("PaaS (%)"), render_kw={"inputmode": "decimal"})
    saas = StringField(_l("SaaS (%)"), render_kw={"inputmode": "decimal"})


class VendorQuotaForm(Form):
    """A part of the budget kept for one vendor's services."""

    vendor_id = SelectField(_l("Vendor"), choices=options([("", "—")]), default="")
    amount = StringField(_l("Sub-quota (¥)"), render_kw={"inputmode": "decimal"})


class DetailsFields(FlaskForm):
    """A program's name, description, enrollment mode and budget."""

    name = StringField(_l("Name"), render_kw={"maxlength": 200})
    description = TextAreaField(_l("Description"), render_kw={"rows": 3, "maxlength": 5000})
    enrollment = RadioField(
        _l("How firms join"),
        choices=options((mode.value, label) for mode, label in ENROLLMENT_LABELS.items()),
        default=EnrollmentMode.APPLICATION.value,
    )
    budget = StringField(
        _l("Total budget (¥)"),
        description=_l("In yuan, up to two decimals."),
        render_kw={"inputmode": "decimal"},
    )


class RulesFields(FlaskForm):
    """A program's rules: windows, rates, caps, qualifying purchases and eligible firms."""

    invoices_from = StringField(_l("Invoices finalized from"), render_kw={"type": "date"})
    invoices_until = StringField(_l("Invoices finalized until"), render_kw={"type": "date"})
    priority = StringField(
        _l("Priority"),
        description=_l("Programs with a lower number draw first."),
        render_kw={"inputmode": "numeric"},
    )
    stackable = BooleanField(
        _l("Stackable"),
        description=_l("May add to what another program already pays on a line."),
    )
    rate_steps = FieldList(FormField(RateStepForm), min_entries=STEP_ROWS)
    cap_per_invoice = StringField(_l("Per invoice (¥)"), render_kw={"inputmode": "decimal"})
    cap_per_firm = StringField(
        _l("Per firm, whole program (¥)"), render_kw={"inputmode": "decimal"}
    )
    cap_first_claim = StringField(_l("First claim (¥)"), render_kw={"inputmode": "decimal"})
    cap_later_claim = StringField(_l("Each later claim (¥)"), render_kw={"inputmode": "decimal"})
    category_ids = SelectMultipleField(_l("Categories"), coerce=int, choices=[])
    listing_ids = SelectMultipleField(_l("Listings"), coerce=int, choices=[], render_kw={"size": 6})
    vendor_ids = SelectMultipleField(_l("Vendors"), coerce=int, choices=[], render_kw={"size": 6})
    min_amount = StringField(_l("Minimum amount of a line (¥)"), render_kw={"inputmode": "decimal"})
    size_classes = SelectMultipleField(
        _l("Size classes"), choices=options((size, SIZE_LABELS[size]) for size in SIZE_CLASSES)
    )
    industry_codes = SelectMultipleField(_l("Industries"), choices=[])
    legal_forms = SelectMultipleField(
        _l("Legal forms"), choices=options((form, LEGAL_FORM_LABELS[form]) for form in LEGAL_FORMS)
    )
    min_months_registered = StringField(
        _l("Registered at least (months)"), render_kw={"inputmode": "numeric"}
    )
    exclude_dishonest = BooleanField(_l("Exclude firms flagged 严重失信 (seriously dishonest)"))
    first_time_buyers_only = BooleanField(_l("First-time cloud buyers only"))
    park_members_only = BooleanField(_l("Members of the park only"))
    vendor_quotas = FieldList(FormField(VendorQuotaForm), min_entries=QUOTA_ROWS)

    def offer_choices(self, choices: RuleChoices) -> None:
        """Fill the lists of categories, listings, vendors and industries."""
        self.category_ids.choices = options(choices.categories)
        self.listing_ids.choices = options(choices.listings)
        self.vendor_ids.choices = options(choices.vendors)
        self.industry_codes.choices = options(choices.industries)
        vendors = options([("", "—"), *choices.vendors])
        for entry in self.vendor_quotas:
            entry.form.vendor_id.choices = vendors


class ProgramForm(DetailsFields, RulesFields):
    """Create a program: its details and the first version of its rules."""

    submit = SubmitField(_l("Create draft program"))


class DetailsForm(DetailsFields):
    """Change a program's details; its rules change through a new version."""

    submit = SubmitField(_l("Save details"))


class RulesForm(RulesFields):
    """Write the next version of a program's rules."""

    takes_effect_at = StringField(
        _l("Takes effect at"),
        description=_l("Leave blank for now. Invoices finalized from then on use these rules."),
        render_kw={"type": "datetime-local"},
    )
    submit = SubmitField(_l("Save as new version"))


class PolicyForm(FlaskForm):
    """The park's cap on what one firm gets per calendar year across all its programs."""

    firm_year_cap = StringField(
        _l("Cap per firm and calendar year (¥)"),
        description=_l("Across all the park's programs. Leave blank for no cap."),
        render_kw={"inputmode": "decimal"},
    )
    submit = SubmitField(_l("Save"))


def apply_form_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Show errors keyed by form path (or by rules path) beside their fields."""
    for path, messages in error.errors.items():
        field = _field_at(form, path) or _field_at(form, form_path(path))
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]


def _field_at(form: Any, path: str) -> Any:
    """Return the leaf field at a dotted form path ("rate_steps.1.iaas"), or None."""
    node = form
    for part in path.split(".") if path else ():
        try:
            node = node[int(part)] if part.isdigit() else getattr(node, part)
        except (AttributeError, IndexError, KeyError, TypeError):
            return None
    if node is form or isinstance(node, FieldList | FormField) or not hasattr(node, "errors"):
        return None
    return node
