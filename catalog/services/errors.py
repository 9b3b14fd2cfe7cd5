"""Errors of the catalog's services, in the app's error hierarchy."""

from __future__ import annotations

from flask_babel import gettext as _

from catalog.review_rules import IllegalTransition, ReviewAction
from marketplace.errors import Conflict


class ListingTransitionRefused(Conflict):
    """The listing's status does not allow the action asked for."""

    code = "listing_transition_refused"
    title = "The listing's status does not allow this"


def _status_label(status: str) -> str:
    labels = {
        "draft": _("a draft"),
        "in_review": _("in review"),
        "published": _("published"),
        "rejected": _("rejected"),
        "delisted": _("delisted"),
    }
    return str(labels.get(status, status))


def transition_refused(error: IllegalTransition) -> ListingTransitionRefused:
    """Return the Conflict that tells the caller why the transition was refused."""
    status = _status_label(error.status)
    messages = {
        ReviewAction.EDIT: _("A listing cannot be edited while it is %(status)s.", status=status),
        ReviewAction.SUBMIT: _(
            "A listing cannot be submitted for review while it is %(status)s.", status=status
        ),
        ReviewAction.APPROVE: _(
            "A listing cannot be approved while it is %(status)s.", status=status
        ),
        ReviewAction.REJECT: _(
            "A listing cannot be rejected while it is %(status)s.", status=status
        ),
        ReviewAction.DELIST: _(
            "A listing cannot be delisted while it is %(status)s.", status=status
        ),
    }
    return ListingTransitionRefused(messages[error.action], listing_status=error.status)
