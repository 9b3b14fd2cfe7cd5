"""Structured logs with request ids, and the translation catalog."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from marketplace.i18n import TRANSLATIONS_DIR
from marketplace.logs import configure_logging, get_logger
from marketplace.settings import PROJECT_ROOT

# Babel reads zh_CN as zh_Hans_CN, and Flask-Babel looks the catalog up under that name.
CATALOG = TRANSLATIONS_DIR / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def test_every_response_carries_a_request_id(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert len(response.headers["X-Request-ID"]) == 32


def test_a_sane_incoming_request_id_is_kept(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "edge-42"})
    assert response.headers["X-Request-ID"] == "edge-42"


def test_log_lines_are_json_with_the_request_id(
    client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=True)
    try:
        with client.application.test_request_context("/", headers={"X-Request-ID": "req-7"}):
            client.application.preprocess_request()
            get_logger("test").info("something happened", firm="福州")
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        configure_logging(json_lines=False)
        logging.getLogger().handlers[0].flush()
    record = json.loads(line)
    assert record["event"] == "something happened"
    assert record["request_id"] == "req-7"
    assert record["firm"] == "福州"
    assert record["level"] == "info"


def _catalog_messages(path: Path) -> list[tuple[str, str, bool]]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return [(str(m.id), str(m.string), "fuzzy" in m.flags) for m in catalog if m.id and m.locations]


def test_the_catalog_sits_where_flask_babel_looks_for_the_default_language(app: Flask) -> None:
    looked_up = str(Locale.parse(app.config["BABEL_DEFAULT_LOCALE"]))
    assert TRANSLATIONS_DIR / looked_up / "LC_MESSAGES" / "messages.po" == CATALOG
    assert CATALOG.is_file()


def test_every_interface_string_has_a_chinese_translation() -> None:
    missing = [msgid for msgid, msgstr, fuzzy in _catalog_messages(CATALOG) if not msgstr or fuzzy]
    assert missing == []


def test_the_catalog_covers_every_string_in_the_code(tmp_path: Path) -> None:
    from babel.messages.frontend import CommandLineInterface

    template = tmp_path / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(PROJECT_ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "pgettext:1c,2",
            "-k",
            "lazy_pgettext:1c,2",
            "-k",
            "npgettext:1c,2,3",
            "-o",
            str(template),
            str(PROJECT_ROOT),
        ]
    )
    with template.open("rb") as handle:
        wanted = {str(m.id) for m in read_po(handle) if m.id}
    have = {msgid for msgid, _msgstr, _fuzzy in _catalog_messages(CATALOG)}
    assert sorted(wanted - have) == []
