"""Alert a park's managers when a program has spent 80% and 100% of its budget.

An alert is a row per (program, budget figure, threshold), so each is raised once for a
budget; raising the budget arms them again. Granting raises them as it crosses a
threshold, and so does lowering the budget to or below what is used.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.services.bulk import dialect_insert, table_of
from billing.subsidies.models import SubsidyBudgetAlert, SubsidyProgram
from marketplace.accounts.models import User
from marketplace.clock import Clock
from marketplace.mail.services import queue_email
from marketplace.orgs.models import Membership
from marketplace.orgs.roles import MANAGER_ROLES


def record_alerts(
    session: Session,
    clock: Clock,
    program_id: int,
    budget_fen: int,
    percents: Iterable[int],
    used_fen: int,
) -> None:
    """Record each threshold reached, once per budget, and mail the park's managers."""
    for percent in percents:
        inserted = session.execute(
            dialect_insert(session, table_of(SubsidyBudgetAlert))
            .values(
                program_id=program_id,
                budget_fen=budget_fen,
                percent=percent,
                used_fen=used_fen,
                at=clock.now(),
            )
            .on_conflict_do_nothing(index_elements=["program_id", "budget_fen", "percent"])
            .returning(table_of(SubsidyBudgetAlert).c.id)
        ).scalar_one_or_none()
        if inserted is not None:
            _mail_alert(session, clock, program_id, percent)


def _mail_alert(session: Session, clock: Clock, program_id: int, percent: int) -> None:
    """Tell the park's owners and admins a program reached a share of its budget."""
    program = session.get(SubsidyProgram, program_id)
    assert program is not None
    emails = session.scalars(
        sa.select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == program.park_id, Membership.role.in_(MANAGER_ROLES))
        .order_by(Membership.id)
    )
    for email in emails:
        queue_email(
            session,
            clock,
            to=email,
            kind="subsidy_budget_alert",
            subject=_(
                "Subsidy program %(name)s has used %(percent)s%% of its budget",
                name=program.name,
                percent=percent,
            ),
            body=_(
                "The program %(name)s has now granted %(percent)s%% of its budget. "
                "Invoices finalized after the budget is spent get no subsidy from it: "
                "raise the budget or close the program in the park console.",
                name=program.name,
                percent=percent,
            ),
        )
