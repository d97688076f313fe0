"""Real PostgreSQL for tests: a fresh, uniquely named, migrated database per test.

DATABASE_URL picks the server; without it an embedded server is started. Each schema is
migrated once per session with Alembic into a template database, and every test gets a
copy (CREATE DATABASE ... TEMPLATE), dropped afterwards. Nothing left by an earlier run
can change a result: every name is new.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from videogen_common.db import libpq_url, with_database
from videogen_common.embedded_pg import start_embedded
from videogen_common.migrations import upgrade_to_head

REPO_ROOT = Path(__file__).resolve().parents[4]
TEST_DATA_DIR = REPO_ROOT / ".data" / "test-postgres"


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(libpq_url(with_database(url, "postgres")), autocommit=True)


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    with _admin(server_url) as conn:
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_user(url: str, user: str) -> str:
    return make_url(url).set(username=user, password=None).render_as_string(hide_password=False)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return os.environ.get("DATABASE_URL") or start_embedded(TEST_DATA_DIR)


@pytest.fixture(scope="session")
def migrated_template(pg_server_url: str):
    """Factory: the template database for a list of alembic.ini files, made once."""
    made: dict[tuple[Path, ...], str] = {}

    def template_for(*alembic_inis: Path) -> str:
        key = tuple(alembic_inis)
        if key not in made:
            name = unique_name("vg_tmpl")
            url = create_database(pg_server_url, name)
            for ini in alembic_inis:
                upgrade_to_head(ini, url)
            made[key] = name
        return made[key]

    yield template_for
    for name in made.values():
        drop_database(pg_server_url, name)


@pytest.fixture
def fresh_database(pg_server_url: str, migrated_template) -> Iterator:
    """Factory: a new database migrated for the given services; dropped after the test."""
    names: list[str] = []

    def make(*alembic_inis: Path) -> str:
        name = unique_name("vg_test")
        names.append(name)
        return create_database(pg_server_url, name, migrated_template(*alembic_inis))

    yield make
    for name in names:
        drop_database(pg_server_url, name)


@pytest.fixture
def login_role(pg_server_url: str) -> Iterator:
    """Factory: the URL of ``database_url`` for a new login user IN ROLE ``group`` (a
    service's role, as a deployment would make one); dropped after the test."""
    made: list[str] = []

    def make(database_url: str, group: str) -> str:
        name = unique_name(f"vg_{group.removeprefix('videogen_')}")
        with _admin(pg_server_url) as conn:
            conn.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE {group}')
        made.append(name)
        return with_user(database_url, name)

    yield make
    with _admin(pg_server_url) as conn:
        for name in made:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')
