"""Sign-in at the authorization endpoint: prompt, max_age, login_hint and id_token_hint, through
the Flask client (OIDC Core 3.1.2.1) and as the pure rule `prompts.sign_in_step`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from billing.services.seats import assign_seat
from marketplace.accounts.access import AUTH_TIME_KEY
from marketplace.clock import FrozenClock
from sso.provider import prompts
from sso.provider.prompts import SignInState, Step, sign_in_step
from tests.factories import PASSWORD
from tests.sso.provider_world import (
    ACTOR,
    REDIRECT_URI,
    AppWorld,
    authorize_query,
    code_for,
    exchange,
    make_world,
    new_pkce,
    redirect_params,
    sign_in_now,
)

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
def world(client: FlaskClient, session: Session, clock: FrozenClock) -> AppWorld:
    """An app world whose owner signed in five minutes ago and already consented."""
    made = make_world(session, clock)
    sign_in_now(client, made.owner, FrozenClock(clock.now() - timedelta(minutes=5)))
    pkce = new_pkce()
    assert exchange(client, made, code_for(client, made, pkce), pkce.verifier).status_code == 200
    return made


@dataclass(frozen=True)
class Sent:
    """An authorization request's answer and the state it was sent with."""

    response: Any
    state: str


def _authorize(client: FlaskClient, world: AppWorld, **overrides: str | None) -> Sent:
    query = authorize_query(world, new_pkce(), **overrides)
    return Sent(client.get("/oauth/authorize", query_string=query), query["state"])


def _error_to_app(sent: Sent) -> str:
    response = sent.response
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = redirect_params(location)
    assert params["state"] == sent.state
    assert "code" not in params
    return params["error"]


def _sent_to_sign_in(client: FlaskClient, sent: Sent) -> dict[str, str]:
    response = sent.response
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    # A link from elsewhere must not sign anyone out: the session stays until a new sign-in.
    with client.session_transaction() as browser:
        assert "_user_id" in browser
        assert AUTH_TIME_KEY in browser
    assert query["again"] == "1"
    return query


def _code(response: Any) -> str:
    if isinstance(response, Sent):
        response = response.response
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    params = redirect_params(response.headers["Location"])
    assert "code" in params, params
    return params["code"]


def _id_token_of(client: FlaskClient, world: AppWorld) -> str:
    pkce = new_pkce()
    body = exchange(client, world, code_for(client, world, pkce), pkce.verifier).get_json()
    token: str = body["id_token"]
    return token


# ---- prompt=none ---------------------------------------------------------------------------------


def test_prompt_none_without_a_session_answers_login_required(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)

    response = _authorize(client, world, prompt="none")

    assert _error_to_app(response) == "login_required"


def test_prompt_none_signed_in_but_never_consented_answers_consent_required(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.owner, clock)

    response = _authorize(client, world, prompt="none")

    assert _error_to_app(response) == "consent_required"


def test_prompt_none_signed_in_and_consented_gives_a_code_without_a_page(
    client: FlaskClient, world: AppWorld
) -> None:
    _code(_authorize(client, world, prompt="none"))


def test_prompt_none_with_a_sign_in_older_than_max_age_answers_login_required(
    client: FlaskClient, world: AppWorld
) -> None:
    response = _authorize(client, world, prompt="none", max_age="60")

    assert _error_to_app(response) == "login_required"


@pytest.mark.parametrize("prompt", ["none login", "none consent", "bogus", "login bogus"])
def test_a_bad_prompt_is_refused_back_to_the_app(
    client: FlaskClient, world: AppWorld, prompt: str
) -> None:
    assert _error_to_app(_authorize(client, world, prompt=prompt)) == "invalid_request"


# ---- signing in again ----------------------------------------------------------------------------


def test_prompt_login_sends_the_signed_in_user_to_sign_in_again(
    client: FlaskClient, world: AppWorld
) -> None:
    sent = _authorize(client, world, prompt="login")

    login = _sent_to_sign_in(client, sent)
    back = {k: v[0] for k, v in parse_qs(urlsplit(login["next"]).query).items()}
    assert urlsplit(login["next"]).path == "/oauth/authorize"
    assert "prompt" not in back
    assert back["max_age"] == "60"
    assert back["state"] == sent.state


def test_going_back_without_signing_in_again_is_asked_again(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    clock.advance(timedelta(minutes=5))
    login = _sent_to_sign_in(client, _authorize(client, world, prompt="login"))

    skipped = client.get(login["next"])

    assert skipped.status_code == 302
    assert urlsplit(skipped.headers["Location"]).path == "/login"


def test_the_sign_in_page_asks_again_even_though_the_user_is_signed_in(
    client: FlaskClient, world: AppWorld
) -> None:
    login = _sent_to_sign_in(client, _authorize(client, world, prompt="login"))

    page = client.get("/login", query_string=login)

    assert page.status_code == 200
    assert 'id="sign-in-again"' in page.get_data(as_text=True)


def test_after_the_fresh_sign_in_prompt_login_gives_a_code(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    login = _sent_to_sign_in(client, _authorize(client, world, prompt="login"))
    clock.advance(timedelta(seconds=3))

    signed = client.post(
        "/login", data={"email": world.owner.email, "password": PASSWORD, "next": login["next"]}
    )
    assert signed.status_code == 302
    assert urlsplit(signed.headers["Location"]).path == "/oauth/authorize"
    answer = client.get(signed.headers["Location"])

    _code(answer)


def test_a_sign_in_older_than_max_age_is_asked_again(client: FlaskClient, world: AppWorld) -> None:
    _sent_to_sign_in(client, _authorize(client, world, max_age="120"))


def test_a_sign_in_within_max_age_is_kept(client: FlaskClient, world: AppWorld) -> None:
    _code(_authorize(client, world, max_age="3600"))


def test_max_age_zero_always_asks_for_a_fresh_sign_in(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.owner, clock)  # signed in this very second

    login = _sent_to_sign_in(client, _authorize(client, world, max_age="0"))

    back = {k: v[0] for k, v in parse_qs(urlsplit(login["next"]).query).items()}
    assert back.get("max_age") != "0"  # or the fresh sign-in would be asked for forever


def test_max_age_zero_after_the_fresh_sign_in_gives_a_code(
    client: FlaskClient, world: AppWorld
) -> None:
    login = _sent_to_sign_in(client, _authorize(client, world, max_age="0"))

    signed = client.post(
        "/login", data={"email": world.owner.email, "password": PASSWORD, "next": login["next"]}
    )
    answer = client.get(signed.headers["Location"])

    _code(answer)


@pytest.mark.parametrize("max_age", ["abc", "-1", "1.5", "10s"])
def test_a_malformed_max_age_is_refused_back_to_the_app(
    client: FlaskClient, world: AppWorld, max_age: str
) -> None:
    assert _error_to_app(_authorize(client, world, max_age=max_age)) == "invalid_request"


def test_a_login_hint_naming_another_user_asks_for_a_sign_in_as_them(
    client: FlaskClient, world: AppWorld
) -> None:
    login = _sent_to_sign_in(client, _authorize(client, world, login_hint=world.member.email))

    assert login["email"] == world.member.email


def test_a_login_hint_naming_the_signed_in_user_is_kept(
    client: FlaskClient, world: AppWorld
) -> None:
    _code(_authorize(client, world, login_hint=world.owner.email.upper()))


def test_prompt_none_with_a_login_hint_of_another_user_answers_login_required(
    client: FlaskClient, world: AppWorld
) -> None:
    response = _authorize(client, world, prompt="none", login_hint=world.member.email)

    assert _error_to_app(response) == "login_required"


def _member_id_token(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> str:
    assign_seat(session, clock, ACTOR, world.subscription, world.member.id)
    sign_in_now(client, world.member, clock)
    hint = _id_token_of(client, world)
    sign_in_now(client, world.owner, clock)
    return hint


def test_an_id_token_hint_of_another_user_asks_for_a_sign_in(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    hint = _member_id_token(client, session, clock, world)

    _sent_to_sign_in(client, _authorize(client, world, id_token_hint=hint))


def test_prompt_none_with_an_id_token_hint_of_another_user_answers_login_required(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    hint = _member_id_token(client, session, clock, world)

    response = _authorize(client, world, prompt="none", id_token_hint=hint)

    assert _error_to_app(response) == "login_required"


def test_an_id_token_hint_of_the_signed_in_user_is_kept_even_once_expired(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    hint = _id_token_of(client, world)
    clock.advance(timedelta(minutes=30))

    _code(_authorize(client, world, prompt="none", id_token_hint=hint, max_age="3600"))


def test_an_id_token_hint_this_provider_did_not_sign_is_refused_back_to_the_app(
    client: FlaskClient, world: AppWorld
) -> None:
    forged = jwt.encode(
        {"alg": "HS256"},
        {"sub": "x", "iss": "http://localhost"},
        KeySet.generate_key_set("oct", 256, count=1).keys[0],
    )

    assert _error_to_app(_authorize(client, world, id_token_hint=forged)) == "invalid_request"


# ---- the pure rule -------------------------------------------------------------------------------

SIGNED_IN = SignInState(signed_in=True, auth_time=NOW - timedelta(minutes=5), hints_match=True)
SIGNED_OUT = SignInState(signed_in=False, auth_time=None, hints_match=True)


@pytest.mark.parametrize(
    ("prompt", "max_age", "state", "step"),
    [
        ("", None, SIGNED_IN, Step.PROCEED),
        ("", None, SIGNED_OUT, Step.SIGN_IN),
        ("none", None, SIGNED_OUT, Step.LOGIN_REQUIRED),
        ("none", None, SIGNED_IN, Step.PROCEED),
        ("login", None, SIGNED_IN, Step.SIGN_IN),
        ("login consent", None, SIGNED_IN, Step.SIGN_IN),
        ("consent", None, SIGNED_IN, Step.PROCEED),
        ("", 300, SIGNED_IN, Step.PROCEED),
        ("", 299, SIGNED_IN, Step.SIGN_IN),
        ("none", 299, SIGNED_IN, Step.LOGIN_REQUIRED),
        ("", 0, SIGNED_IN, Step.SIGN_IN),
        ("", 0, SignInState(True, NOW, True), Step.SIGN_IN),
        ("", None, SignInState(True, NOW, False), Step.SIGN_IN),
        ("none", None, SignInState(True, NOW, False), Step.LOGIN_REQUIRED),
        ("", None, SignInState(True, None, True), Step.SIGN_IN),
        ("none login", None, SIGNED_IN, Step.INVALID),
        ("select_account bogus", None, SIGNED_IN, Step.INVALID),
    ],
)
def test_sign_in_step_decides_by_prompt_max_age_and_session(
    prompt: str, max_age: int | None, state: SignInState, step: Step
) -> None:
    assert sign_in_step(prompts.parse_prompt(prompt), max_age, state, NOW).step == step


def test_sign_in_step_says_why() -> None:
    decision = sign_in_step(frozenset({"none"}), None, SIGNED_OUT, NOW)

    assert decision.reason


@pytest.mark.parametrize(("raw", "parsed"), [(None, None), ("", None), ("0", 0), ("3600", 3600)])
def test_parse_max_age_reads_whole_seconds(raw: str | None, parsed: int | None) -> None:
    assert prompts.parse_max_age(raw) == parsed


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", "1e3", "+5", "1_000", " 60", "\u0663"])
def test_parse_max_age_refuses_what_is_not_whole_seconds(raw: str) -> None:
    with pytest.raises(ValueError):
        prompts.parse_max_age(raw)


def test_after_a_fresh_sign_in_the_login_prompt_is_not_asked_again() -> None:
    assert prompts.without_login_prompt(frozenset({"login", "consent"})) == "consent"
    assert prompts.without_login_prompt(frozenset({"login"})) == ""
