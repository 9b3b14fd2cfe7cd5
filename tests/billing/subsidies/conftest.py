"""Fixtures of the subsidy tests: a park, a member firm and a vendor's plan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from tests.billing.subsidies.world import SubsidyWorld, make_subsidy_world


@pytest.fixture
def subsidy_world(app: Flask, session: Session, clock: FrozenClock) -> Iterator[SubsidyWorld]:
    """A park with an owner, one member firm and one vendor plan, in an English request."""
    with app.test_request_context(), force_locale("en"):
        yield make_subsidy_world(session, clock.now())
