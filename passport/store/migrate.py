"""Run Alembic migrations programmatically, so `dpp init` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy.engine import Engine

_SCRIPTS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """Return an Alembic config pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest revision."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        try:
            command.upgrade(cfg, "head")
        except CommandError as exc:
            if "Can't locate revision" not in str(exc):
                raise
            raise RuntimeError(
                f"this database has a schema revision 0.1.0 does not know ({exc}): it was made "
                "by a development version before the first release; start a new database"
            ) from None
