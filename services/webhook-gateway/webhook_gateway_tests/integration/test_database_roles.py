"""Each service's database role reaches its own tables only, and owns none of them.

The webhook gateway faces the internet: a compromise of it must not reach the ledger.
Connected as a login user of each service's role (as a deployment makes them), every
statement outside the service's grants is refused by PostgreSQL itself.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from videogen_common.db import libpq_url

SERVICES = Path(__file__).resolve().parents[3]
INIS = [SERVICES / s / "alembic.ini" for s in ("credits", "generation", "webhook-gateway")]
ROLES = {
    "videogen_credits": "credits",
    "videogen_generation": "generation",
    "videogen_webhook_gateway": "webhook_gateway",
}


@pytest.fixture
def database(fresh_database) -> str:
    # Privileges are checked before rows are looked at: empty tables prove as much.
    return fresh_database(*INIS)


def refused(url: str, statement: str, params: tuple = ()) -> bool:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        try:
            conn.execute(statement, params)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


LEDGER_WRITES = [
    "SELECT * FROM credits.entries",
    "SELECT * FROM credits.accounts",
    "UPDATE credits.accounts SET balance = balance + 1000000",
    "INSERT INTO credits.entries (user_id, amount, kind) VALUES (gen_random_uuid(), 1, 'x')",
    "SELECT credits.expire_due(10)",
    "ALTER TABLE credits.entries DISABLE TRIGGER tr_entries_append_only",
    "DROP TRIGGER tr_entries_append_only ON credits.entries",
    "TRUNCATE credits.entries",
    "SELECT * FROM generation.generations",
    "UPDATE generation.generations SET video_url = 'https://evil.test/x.mp4'",
    "CREATE TABLE webhook_gateway.extra (x int)",
    "CREATE TABLE public.extra (x int)",
]


@pytest.mark.parametrize("statement", LEDGER_WRITES)
def test_the_webhook_gateway_role_cannot_touch_the_ledger_or_generations(
    database, login_role, statement
):
    assert refused(login_role(database, "videogen_webhook_gateway"), statement)


def test_the_webhook_gateway_role_records_deliveries(database, login_role):
    url = login_role(database, "videogen_webhook_gateway")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_gateway.deliveries (source, webhook_id) VALUES ('t', %s)",
            (f"msg_{uuid.uuid4().hex}",),
        )
        assert conn.execute("SELECT count(*) FROM webhook_gateway.deliveries").fetchone() == (1,)
    assert refused(url, "DELETE FROM webhook_gateway.deliveries")
    assert refused(url, "DROP TABLE webhook_gateway.deliveries")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE credits.entries SET amount = amount * 2",
        "DELETE FROM credits.entries",
        "DELETE FROM credits.accounts",
        "DELETE FROM credits.draws",
        "ALTER TABLE credits.entries DISABLE TRIGGER tr_entries_append_only",
        "ALTER TABLE credits.accounts DROP CONSTRAINT IF EXISTS accounts_balance_check",
        "SELECT * FROM generation.generations",
        "SELECT * FROM webhook_gateway.deliveries",
    ],
)
def test_the_credits_role_cannot_rewrite_history_or_reach_other_schemas(
    database, login_role, statement
):
    assert refused(login_role(database, "videogen_credits"), statement)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM credits.accounts",
        "DELETE FROM generation.generations",
        "ALTER TABLE generation.generations DROP COLUMN video_url",
        "SELECT * FROM webhook_gateway.deliveries",
    ],
)
def test_the_generation_role_keeps_to_its_schema(database, login_role, statement):
    assert refused(login_role(database, "videogen_generation"), statement)


def test_every_table_of_a_schema_is_granted_to_its_role(database):
    """A table added by a later migration without a grant fails here, not in production."""
    with psycopg.connect(libpq_url(database)) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY(%s) AND table_type = 'BASE TABLE'"
            " AND table_name <> 'alembic_version'",
            (list(ROLES.values()),),
        ).fetchall()
        ungranted = [
            (schema, table)
            for schema, table in rows
            if not conn.execute(
                "SELECT has_table_privilege(%s, %s, 'SELECT')",
                (next(r for r, s in ROLES.items() if s == schema), f"{schema}.{table}"),
            ).fetchone()[0]
        ]
    assert rows and ungranted == []
