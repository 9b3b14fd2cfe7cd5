"""Who may pass: login redirects and the confirmed-email gate other parts use."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import login_user

from marketplace.accounts.access import ensure_confirmed, require_confirmed
from marketplace.accounts.errors import EmailNotConfirmed
from marketplace.errors import Unauthorized, handle_app_error
from tests.factories import make_user


@require_confirmed
def _firm_page() -> str:
    return "firm page"


def test_a_confirmed_user_passes_the_gate(app: Flask, session: sa.orm.Session) -> None:
    user = make_user(confirmed=True)
    with app.test_request_context("/firm"):
        login_user(user)
        assert _firm_page() == "firm page"


def test_an_unconfirmed_user_is_stopped_at_the_gate(app: Flask, session: sa.orm.Session) -> None:
    user = make_user(confirmed=False)
    with app.test_request_context("/firm"):
        login_user(user)
        with pytest.raises(EmailNotConfirmed) as caught:
            _firm_page()
    assert caught.value.status == 403
    assert caught.value.code == "email_not_confirmed"


def test_a_visitor_is_asked_to_log_in_at_the_gate(app: Flask, session: sa.orm.Session) -> None:
    with app.test_request_context("/firm"), pytest.raises(Unauthorized):
        _firm_page()


def test_services_can_check_confirmation_themselves(app: Flask, session: sa.orm.Session) -> None:
    with app.test_request_context("/"):
        ensure_confirmed(make_user(confirmed=True))
        with pytest.raises(EmailNotConfirmed):
            ensure_confirmed(make_user(confirmed=False))


def test_an_unauthorized_browser_is_sent_to_login_with_the_page_to_return_to(
    app: Flask, session: sa.orm.Session
) -> None:
    with app.test_request_context("/firm/profile?tab=size"):
        response = handle_app_error(Unauthorized())
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/firm/profile?tab=size"]}


def test_an_unauthorized_api_client_gets_problem_json(app: Flask, session: sa.orm.Session) -> None:
    with app.test_request_context("/api/v1/listings"):
        response = handle_app_error(Unauthorized())
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_an_unauthorized_json_client_gets_problem_json(app: Flask, session: sa.orm.Session) -> None:
    with app.test_request_context("/firm", headers={"Accept": "application/json"}):
        response = handle_app_error(Unauthorized())
    assert response.status_code == 401
