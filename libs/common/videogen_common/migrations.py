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


def run_online(schema: str) -> None:
    """The body of each service's migrations/env.py: its own schema and version table."""
    import os

    from alembic import context
    from sqlalchemy import create_engine, pool, text

    from .db import sqlalchemy_url

    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set")
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        connection.commit()
        context.configure(
            connection=connection, version_table_schema=schema, transactional_ddl=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
