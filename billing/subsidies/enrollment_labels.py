"""Say in the reader's language why a firm may not join a program: one sentence per unmet rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from billing.subsidies.eligibility import Eligibility, Unmet
from billing.subsidies.models import EnrollmentStatus
from billing.subsidies.park_forms import LEGAL_FORM_LABELS, SIZE_LABELS

STATUS_LABELS = {
    EnrollmentStatus.APPLIED.value: _l("Application pending"),
    EnrollmentStatus.APPROVED.value: _l("Enrolled"),
    EnrollmentStatus.REJECTED.value: _l("Rejected"),
    EnrollmentStatus.WITHDRAWN.value: _l("Withdrawn"),
}
STATUS_BADGES = {
    EnrollmentStatus.APPLIED.value: "warning",
    EnrollmentStatus.APPROVED.value: "success",
    EnrollmentStatus.REJECTED.value: "danger",
    EnrollmentStatus.WITHDRAWN.value: "secondary",
}


def _listed(values: Iterable[str], labels: dict[str, object]) -> str:
    """Join some codes as the reader says them, in a stable order."""
    return ", ".join(str(labels.get(value, value)) for value in sorted(values))


def unmet_sentence(rule: Unmet, eligibility: Eligibility) -> str:
    """Say, in one sentence, which rule of a program the firm does not meet."""
    return str(_sentence(rule, eligibility))


def _sentence(rule: Unmet, eligibility: Eligibility) -> Any:
    """Translate the sentence of a rule, filled in from the program's eligibility."""
    if rule is Unmet.SIZE:
        return gettext(
            "The program is only for firms of these size classes: %(classes)s.",
            classes=_listed(eligibility.size_classes, dict(SIZE_LABELS)),
        )
    if rule is Unmet.INDUSTRY:
        return gettext("The program is only for firms of certain industries, and yours is not one.")
    if rule is Unmet.LEGAL_FORM:
        return gettext(
            "The program is only for firms of these legal forms: %(forms)s.",
            forms=_listed(eligibility.legal_forms, dict(LEGAL_FORM_LABELS)),
        )
    if rule is Unmet.TOO_YOUNG:
        return gettext(
            "The firm must have been registered for at least %(months)d months.",
            months=eligibility.min_months_registered,
        )
    if rule is Unmet.DISHONEST:
        return gettext(
            "The firm is flagged as seriously dishonest (严重失信), which the program excludes."
        )
    if rule is Unmet.NOT_FIRST_TIME:
        return gettext("The program is only for firms buying cloud services for the first time.")
    return gettext("The program is only for members of its park; ask to join the park first.")


def unmet_sentences(rules: Iterable[Unmet], eligibility: Eligibility) -> list[str]:
    """Say every unmet rule, one sentence each, in the rules' order."""
    return [unmet_sentence(rule, eligibility) for rule in rules]
