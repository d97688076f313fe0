"""Apply a service's Alembic migrations (used by `make migrate`, `make run` and tests)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def upgrade_to_head(alembic_ini: Path, url: str) -> None:
    config = Config(str(alembic_ini))
    # Config values pass through ConfigParser interpolation: a literal % must be doubled
    # (percent-encoded passwords contain them).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
