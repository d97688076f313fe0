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


def service_role_sql(role: str, schema: str, grants: dict[str, str]) -> str:
    """SQL giving a service's group role what it needs in its schema, and nothing more.

    The role has no login: each deployment creates its own login users IN ROLE it (see
    the README). Roles are global to the PostgreSQL cluster, so creation tolerates a
    concurrent migration of another database having just created it. ``grants`` maps a
    table to its privileges ("SELECT, INSERT"); no service ever owns a table, so none can
    drop it, alter it or switch off its triggers.
    """
    lines = [
        f"""DO $$ BEGIN
  CREATE ROLE {role} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;""",
        f"GRANT USAGE ON SCHEMA {schema} TO {role};",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role};",
    ]
    lines += [f"GRANT {what} ON {schema}.{table} TO {role};" for table, what in grants.items()]
    return "\n".join(lines)
