"""Size standards as data: the 2011 row the migration loads, and revisions loaded by command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from marketplace import migrate
from marketplace.firms.models import SizeStandardRecord
from marketplace.firms.services import (
    NoStandardInForce,
    load_standards,
    standard_in_force_on,
)
from marketplace.firms.sme_size import default_standard_path, load_standard_file
from tests import backends
from tests.conftest import BACKENDS
from tests.factories import make_user
from tests.firms.conftest import audit, register

STANDARD_2011 = "MIIT-2011-300"


def _bundled() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(default_standard_path().read_text(encoding="utf-8"))
    return data


def _revision(**overrides: Any) -> dict[str, Any]:
    data = {
        **_bundled(),
        "id": "MIIT-2027-TEST",
        "name": "修订版划型标准",
        "valid_from": "2027-01-01",
    }
    return {**data, **overrides}


def _load(app: Flask, tmp_path: Path, content: str) -> Any:
    path = tmp_path / "standard.json"
    path.write_text(content, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["firms", "load-standard", str(path)])


def test_the_migration_loads_the_bundled_2011_standard(session: Session) -> None:
    row = session.get(SizeStandardRecord, STANDARD_2011)
    assert row is not None
    bundled = _bundled()
    assert row.data == bundled
    assert row.name == bundled["name"]
    assert (row.valid_from, row.valid_to) == (date(2011, 6, 18), None)
    assert row.loaded_at.tzinfo is not None


def test_the_stored_standard_reads_back_as_the_bundled_file(session: Session) -> None:
    assert load_standards(session) == [load_standard_file(default_standard_path())]


def test_the_2011_standard_is_in_force_from_18_june_2011(session: Session) -> None:
    assert standard_in_force_on(session, date(2011, 6, 18)).id == STANDARD_2011
    with pytest.raises(NoStandardInForce):
        standard_in_force_on(session, date(2011, 6, 17))


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """Make an empty database of the dialect the suite runs on."""
    with backends.scratch_database("standards", has_postgres=BACKENDS.has_postgres) as url:
        yield url


def _stored_ids(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(sa.text("SELECT id FROM size_standards")))
    finally:
        engine.dispose()


def test_the_migration_downgrades_by_removing_the_standard(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, "0002")
    assert _stored_ids(empty_database_url) == [STANDARD_2011]
    migrate.downgrade(empty_database_url, "0001")
    assert _stored_ids(empty_database_url) == []
    migrate.upgrade(empty_database_url, "0002")
    assert _stored_ids(empty_database_url) == [STANDARD_2011]


def test_loading_a_revision_supersedes_the_open_ended_standard(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    result = _load(app, tmp_path, json.dumps(_revision(), ensure_ascii=False))
    assert result.exit_code == 0, result.output
    assert "Loaded MIIT-2027-TEST" in result.output
    session.expire_all()
    old = session.get(SizeStandardRecord, STANDARD_2011)
    assert old is not None and old.valid_to == date(2027, 1, 1)
    assert standard_in_force_on(session, date(2026, 12, 31)).id == STANDARD_2011
    assert standard_in_force_on(session, date(2027, 1, 1)).id == "MIIT-2027-TEST"
    [loaded] = audit(session, "size_standard.loaded")
    assert loaded.target_id == "MIIT-2027-TEST" and loaded.actor_user_id is None
    [superseded] = audit(session, "size_standard.superseded")
    assert superseded.after == {"valid_to": "2027-01-01", "superseded_by": "MIIT-2027-TEST"}


def test_a_revision_keeps_decimal_thresholds_exact(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    data = _revision()
    data["industries"] = [
        {
            "code": "other",
            "name_zh": "其他",
            "name_en": "Other",
            "indicators": [
                {"indicator": "revenue", "ceiling": 100.5, "medium": 10.25, "small": 0.1}
            ],
        }
    ]
    assert _load(app, tmp_path, json.dumps(data)).exit_code == 0
    standard = standard_in_force_on(session, date(2027, 6, 1))
    [threshold] = standard.industry("other").indicators
    assert str(threshold.small) == "0.1" and str(threshold.medium) == "10.25"


def test_firms_registered_earlier_keep_the_standard_they_were_classified_under(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    profile = register(make_user())
    assert _load(app, tmp_path, json.dumps(_revision())).exit_code == 0
    assert profile.size_standard_id == STANDARD_2011


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "Expecting property name"),
        (json.dumps(_revision(valid_from="2027-13-01")), "valid_from"),
        (json.dumps({**_revision(), "industries": []}), "industries"),
        (json.dumps({**_revision(), "valid_until": None}), "unknown valid_until"),
        (json.dumps(_revision(id=STANDARD_2011)), "already loaded"),
        (json.dumps(_revision(valid_from="2020-01-01", valid_to="2021-01-01")), "overlaps"),
        (json.dumps(_revision(id="X" * 41)), "too long"),
    ],
    ids=["not-json", "bad-date", "no-industries", "unknown-key", "duplicate", "overlap", "long-id"],
)
def test_a_bad_standard_file_is_refused_and_changes_nothing(
    app: Flask, session: Session, tmp_path: Path, content: str, complaint: str
) -> None:
    result = _load(app, tmp_path, content)
    assert result.exit_code != 0
    assert complaint in result.output
    session.expire_all()
    assert [row.id for row in session.scalars(sa.select(SizeStandardRecord))] == [STANDARD_2011]
    old = session.get(SizeStandardRecord, STANDARD_2011)
    assert old is not None and old.valid_to is None
    assert audit(session, "size_standard.loaded") == []


def test_a_missing_file_is_refused(app: Flask, session: Session, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(
        args=["firms", "load-standard", str(tmp_path / "missing.json")]
    )
    assert result.exit_code != 0 and "does not exist" in result.output
