"""Two exchanges of the same code at the same moment, each on its own connection, on PostgreSQL:
one wins, the other is a replay, and the replay revokes what the winner got.

The requests commit for real, so the module uses a scratch database of its own rather than
the rolled-back transaction of the other tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from marketplace.extensions import db
from sso.provider.models import Grant
from tests.conftest import committing_app
from tests.sso.provider_world import (
    AppWorld,
    basic_auth,
    code_for,
    exchange,
    make_world,
    new_pkce,
    sign_in_now,
)

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
RACERS = 2
ROUNDS = 5


@pytest.fixture(scope="module", name="committing_app")
def _committing_app(redis_url: str | None) -> Iterator[Flask]:
    """An app over its own database, whose requests really commit."""
    with committing_app("code_race", redis_url, NOW) as built:
        yield built


def _world_with_code(app: Flask) -> tuple[AppWorld, str, str]:
    """Commit an app world and return it with a fresh code and its verifier."""
    clock = app.extensions["clock"]
    with app.app_context():
        world = make_world(db.session(), clock)
        db.session.commit()
        browser = app.test_client()
        sign_in_now(browser, world.owner, clock)
        pkce = new_pkce()
        code = code_for(browser, world, pkce)
        return world, code, pkce.verifier


def _exchange_all_at_once(app: Flask, world: AppWorld, code: str, verifier: str) -> list[Any]:
    start = threading.Barrier(RACERS)
    answers: list[Any] = [None] * RACERS

    def post(n: int) -> None:
        with app.app_context():
            client = app.test_client()
            start.wait()
            response = exchange(client, world, code, verifier)
            answers[n] = (response.status_code, response.get_json())
            db.session.remove()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_exchanges_of_one_code_at_once_give_one_set_of_tokens_then_revoke_it(
    committing_app: Flask, round_: int
) -> None:
    world, code, verifier = _world_with_code(committing_app)

    answers = _exchange_all_at_once(committing_app, world, code, verifier)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 400], answers
    [winner] = [body for status, body in answers if status == 200]
    [loser] = [body for status, body in answers if status == 400]
    assert loser["error"] == "invalid_grant"
    with committing_app.app_context():
        client = committing_app.test_client()
        info = client.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {winner['access_token']}"}
        )
        assert info.status_code == 401
        introspected = client.post(
            "/oauth/introspect",
            data={"token": winner["refresh_token"]},
            headers=basic_auth(world.client_id, world.client_secret),
        )
        assert introspected.get_json() == {"active": False}
        reason = db.session.scalar(
            sa.select(Grant.revoked_reason).where(Grant.app_client_id == world.app_client.id)
        )
        db.session.remove()
    assert reason == "code_reused"
