"""The database itself refuses what the ledger must never do."""

import uuid

import psycopg
import pytest

from videogen_common.db import libpq_url


@pytest.fixture
def db(credits_db):
    with psycopg.connect(libpq_url(credits_db), autocommit=True) as conn:
        user = uuid.uuid4()
        conn.execute("INSERT INTO credits.accounts (user_id, balance) VALUES (%s, 10)", (user,))
        conn.execute(
            "INSERT INTO credits.entries (user_id, kind, amount, balance_after, reference)"
            " VALUES (%s, 'usage', -5, 5, 'ref-1')",
            (user,),
        )
        yield conn, user


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE credits.entries SET amount = 0",
        "DELETE FROM credits.entries",
        "TRUNCATE credits.entries CASCADE",
    ],
)
def test_entries_are_append_only(db, statement):
    conn, _ = db
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute(statement)
    assert conn.execute("SELECT count(*) FROM credits.entries").fetchone()[0] == 1


def test_balance_never_negative(db):
    conn, user = db
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE credits.accounts SET balance = -1 WHERE user_id = %s", (user,))


def test_a_reference_is_charged_and_refunded_at_most_once(db):
    conn, user = db
    for kind, amount in (("usage", -1), ("refund", 5)):
        if kind == "refund":
            conn.execute(
                "INSERT INTO credits.entries (user_id, kind, amount, balance_after, reference)"
                " VALUES (%s, 'refund', 5, 10, 'ref-1')",
                (user,),
            )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO credits.entries (user_id, kind, amount, balance_after, reference)"
                " VALUES (%s, %s, %s, 10, 'ref-1')",
                (user, kind, amount),
            )


@pytest.mark.parametrize(
    "kind, amount", [("usage", 5), ("purchase", -5), ("refund", -1), ("grant", 0), ("bonus", 5)]
)
def test_entry_kinds_and_signs_are_checked(db, kind, amount):
    conn, user = db
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO credits.entries (user_id, kind, amount, balance_after)"
            " VALUES (%s, %s, %s, 10)",
            (user, kind, amount),
        )
