"""WEBHOOK_TIMEOUT: how long an endpoint has to answer, from the environment."""

from __future__ import annotations

import pytest
from flask import Flask

from marketplace.settings import SettingsError, settings_from_env
from marketplace.webhooks.sending import request_timeout


def test_the_timeout_defaults_to_ten_seconds_and_comes_from_the_environment() -> None:
    assert settings_from_env({}).webhook_timeout_seconds == 10
    assert settings_from_env({"WEBHOOK_TIMEOUT": "3"}).webhook_timeout_seconds == 3
    config = settings_from_env({"WEBHOOK_TIMEOUT": "25"}).flask_config()
    assert config["WEBHOOK_TIMEOUT_SECONDS"] == 25


@pytest.mark.parametrize("raw", ["0", "-1", "61", "ten", "2.5"])
def test_a_bad_timeout_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_TIMEOUT"):
        settings_from_env({"WEBHOOK_TIMEOUT": raw})


def test_the_sender_waits_as_long_as_the_setting_says(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        default = request_timeout()
        monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 4)

        assert (default, request_timeout()) == (10.0, 4.0)
