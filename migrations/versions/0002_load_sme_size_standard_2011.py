"""Load the 2011 SME size standard (工信部联企业〔2011〕300号) into size_standards.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 12:45:00.000000
"""

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Read by path, not through the app, so this revision loads the file as it is on disk.
STANDARD_FILE = (
    Path(__file__).resolve().parents[2]
    / "marketplace"
    / "firms"
    / "data"
    / "sme_size_standard_2011.json"
)

size_standards = sa.table(
    "size_standards",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("data", sa.JSON),
    sa.column("loaded_at", sa.DateTime(timezone=True)),
)


def _standard() -> dict[str, Any]:
    with STANDARD_FILE.open(encoding="utf-8") as file:
        data: dict[str, Any] = json.load(file)
    return data


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def upgrade() -> None:
    """Insert the 2011 standard as the one in force from 2011-06-18."""
    data = _standard()
    op.execute(
        size_standards.insert().values(
            id=data["id"],
            name=data["name"],
            valid_from=_date(data["valid_from"]),
            valid_to=_date(data["valid_to"]),
            data=data,
            loaded_at=sa.func.current_timestamp(),
        )
    )


def downgrade() -> None:
    """Remove the 2011 standard (refused while a profile is still classified under it)."""
    op.execute(size_standards.delete().where(size_standards.c.id == _standard()["id"]))
