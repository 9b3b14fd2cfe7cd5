"""The operator's billing pages: sandbox firms' test clocks and the periodic close."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectChoice, SelectField
from wtforms.validators import DataRequired, Optional

from billing.services import test_clocks
from marketplace.clock import MARKET_TIME_ZONE, current_clock
from marketplace.console.forms import show_errors, validated
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm
from marketplace.jobs import JobHandle, schedule_every
from marketplace.orgs.context import acting_membership, current_actor, require_org
from marketplace.orgs.models import OrgKind
from marketplace.orgs.roles import MANAGER_ROLES
from marketplace.settings import Settings

bp = Blueprint("billing_operator", __name__, url_prefix="/console/billing")

OPERATOR = OrgKind.OPERATOR.value
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
TEMPLATE = "billing/operator/test_clocks.html"
# The figures of a close report, by the names billing.services.close gives them.
REPORT_LABELS = {
    "close": {
        "subscriptions": _l("Subscriptions walked"),
        "invoices": _l("Invoices made"),
        "chunks": _l("Chunks committed"),
    },
    "finalize": {
        "invoices": _l("Invoices finalized"),
        "paid": _l("Of which paid at once"),
        "chunks": _l("Chunks committed"),
    },
}


@bp.record_once
def schedule_periodic_close(state: BlueprintSetupState) -> None:
    """Have the job scheduler run the billing close every BILLING_CLOSE_INTERVAL minutes."""
    app = cast(Flask, state.app)
    settings: Settings = app.config["SETTINGS"]
    seconds = settings.billing_close_interval_minutes * 60
    schedule_every(app, test_clocks.CLOSE_JOB, seconds=seconds, queue="billing")


class NewTestClockForm(FlaskForm):
    """Give a sandbox firm a test clock, starting now or at a chosen local time."""

    start_at = DateTimeLocalField(
        _l("Start at (Beijing time; empty: now)"), format=LOCAL_FORMAT, validators=[Optional()]
    )


class AdvanceForm(FlaskForm):
    """Move a test clock forward by a day, a month, or to a chosen local time."""

    step = SelectField(
        _l("Move"),
        choices=[
            SelectChoice("day", _l("+1 day")),
            SelectChoice("month", _l("+1 month")),
            SelectChoice("to", _l("To a time")),
        ],
        validators=[DataRequired()],
    )
    to = DateTimeLocalField(_l("To (Beijing time)"), format=LOCAL_FORMAT, validators=[Optional()])


def _aware(local: datetime | None) -> datetime | None:
    """Read a form's naive local time as Beijing time."""
    return local.replace(tzinfo=MARKET_TIME_ZONE) if local else None


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _report(key: str) -> dict[str, Any] | None:
    report = test_clocks.last_close_report(key)
    if report is None:
        return None
    for name in ("clock_at", "ran_at"):
        report[name] = datetime.fromisoformat(report[name])
    return report


def _page(
    new_forms: dict[int, NewTestClockForm] | None = None,
    advance_forms: dict[int, AdvanceForm] | None = None,
) -> str:
    rows = test_clocks.sandbox_firms(db.session(), current_actor())
    new_forms, advance_forms = new_forms or {}, advance_forms or {}
    return render_template(
        TEMPLATE,
        rows=rows,
        new_forms={
            row.firm.id: new_forms.get(row.firm.id) or NewTestClockForm(prefix=f"new{row.firm.id}")
            for row in rows
        },
        advance_forms={
            row.firm.id: advance_forms.get(row.firm.id) or AdvanceForm(prefix=f"adv{row.firm.id}")
            for row in rows
        },
        reports={row.firm.id: _report(str(row.firm.id)) for row in rows},
        periodic_report=_report(test_clocks.PERIODIC),
        report_labels=REPORT_LABELS,
        close_form=ConfirmForm(prefix="close"),
        production=_settings().is_production,
        can_act=acting_membership().role in MANAGER_ROLES,
    )


def _flash_job(handle: JobHandle, done: str) -> None:
    if handle.status == "failed":
        flash(_("The billing job failed; the worker's log says why."), "danger")
    elif handle.status == "queued":
        flash(_("A worker is running the billing job; reload in a moment."), "info")
    else:
        flash(done, "success")


@bp.get("/test-clocks")
@require_org(OPERATOR)
def test_clocks_page() -> ResponseReturnValue:
    """List the sandbox firms with their test clocks and the last close reports."""
    return _page()


@bp.post("/test-clocks/<int:org_id>")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def create_test_clock(org_id: int) -> ResponseReturnValue:
    """Give a sandbox firm a test clock."""
    form = NewTestClockForm(prefix=f"new{org_id}")
    try:
        validated(form)
        test_clocks.create_test_clock(
            db.session(),
            current_clock(),
            _settings(),
            current_actor(),
            org_id,
            _aware(form.start_at.data),
        )
    except ValidationFailed as error:
        show_errors(form, error)
        return _page(new_forms={org_id: form}), 422
    flash(_("The test clock is created."), "success")
    return redirect(url_for(".test_clocks_page"))


@bp.post("/test-clocks/<int:org_id>/advance")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def advance_test_clock(org_id: int) -> ResponseReturnValue:
    """Move a sandbox firm's test clock forward and bill what fell due."""
    form = AdvanceForm(prefix=f"adv{org_id}")
    try:
        validated(form)
        handle = test_clocks.advance_test_clock(
            db.session(),
            current_clock(),
            _settings(),
            current_actor(),
            org_id,
            step=form.step.data,
            to=_aware(form.to.data),
        )[1]
    except ValidationFailed as error:
        show_errors(form, error)
        return _page(advance_forms={org_id: form}), 422
    _flash_job(handle, _("The test clock moved forward and its billing ran."))
    return redirect(url_for(".test_clocks_page"))


@bp.post("/close")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def run_close() -> ResponseReturnValue:
    """Run the periodic billing close now, on the real clock."""
    handle = test_clocks.run_close_now(db.session(), current_actor())
    _flash_job(handle, _("The billing close ran."))
    return redirect(url_for(".test_clocks_page"))
