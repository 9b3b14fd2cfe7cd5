"""Run Alembic from code: upgrade, downgrade, heads."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from marketplace.settings import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config aimed at database_url."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to revision."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the database to revision."""
    command.downgrade(alembic_config(database_url), revision)


def heads(database_url: str) -> list[str]:
    """Return the head revisions of the migration scripts."""
    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
