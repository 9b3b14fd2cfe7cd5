"""The settings page: display name and preferred language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from marketplace.audit.models import AuditEntry
from tests.accounts.conftest import log_in, totals
from tests.factories import make_user


def test_the_settings_page_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fsettings"


def test_the_settings_page_shows_the_users_name_and_address(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user("he.min@example.com", display_name="何敏")
    log_in(client, user.email)

    page = client.get("/settings").get_data(as_text=True)

    assert "he.min@example.com" in page
    assert 'value="何敏"' in page


def test_saving_settings_keeps_the_name_and_language(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user(display_name="何敏")
    log_in(client, user.email)

    response = client.post("/settings", data={"display_name": "  何 敏  ", "locale": "zh_CN"})

    assert response.status_code == 302
    assert user.display_name == "何 敏"
    assert user.locale == "zh_CN"
    entry = session.scalars(sa.select(AuditEntry)).one()
    assert entry.action == "user.settings_changed"
    assert entry.before == {"display_name": "何敏", "locale": None}
    assert entry.after == {"display_name": "何 敏", "locale": "zh_CN"}


def test_the_saved_language_decides_the_pages_language(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    log_in(client, user.email)

    client.post("/settings", data={"display_name": user.display_name, "locale": "zh_CN"})

    assert '<html lang="zh-CN">' in client.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"display_name": "   ", "locale": "en"}, "Enter the name"),
        ({"display_name": "X" * 101, "locale": "en"}, "at most 100"),
        ({"display_name": "何敏", "locale": "fr"}, "Choose one of the offered languages."),
    ],
    ids=["blank name", "long name", "unknown language"],
)
def test_bad_settings_are_named_and_nothing_is_saved(
    client: FlaskClient, session: sa.orm.Session, form: dict[str, str], message: str
) -> None:
    user = make_user(display_name="何敏", locale="en")
    log_in(client, user.email)
    before = totals(session)

    response = client.post("/settings", data=form)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (user.display_name, user.locale) == ("何敏", "en")
    assert totals(session) == before
