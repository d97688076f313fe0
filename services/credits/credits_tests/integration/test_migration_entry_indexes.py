"""0006: a user's entries of some kinds or of one reference are found through indexes,
not by reading every entry of the user; a build cut off earlier is built again."""

import uuid

import psycopg
from alembic import command
from alembic.config import Config

from videogen_common.db import libpq_url
from videogen_common.testing.pg import create_database, drop_database, unique_name

from ..conftest import CREDITS_ALEMBIC_INI

ENTRIES = 50_000
INDEXES = ("ix_entries_user_kind_id", "ix_entries_user_reference_id")
# The repository's statement (list_entries) with a reference or with kinds.
BY_REFERENCE = (
    "EXPLAIN SELECT id FROM credits.entries WHERE user_id = %s"
    " AND reference = %s AND reference <> '' ORDER BY id DESC LIMIT 51"
)
BY_KIND = (
    "EXPLAIN SELECT id FROM credits.entries WHERE user_id = %s"
    " AND kind = ANY(%s) ORDER BY id DESC LIMIT 51"
)


def _config(url: str) -> Config:
    config = Config(str(CREDITS_ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _valid(conn) -> dict[str, bool]:
    rows = conn.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = ANY(%s)",
        (list(INDEXES),),
    ).fetchall()
    return dict(rows)


def _plan(conn, query: str, params) -> str:
    return "\n".join(r[0] for r in conn.execute(query, params).fetchall())


def test_entries_of_a_kind_or_a_reference_are_read_through_indexes(pg_server_url):
    name = unique_name("vg_migr")
    url = create_database(pg_server_url, name)
    user = str(uuid.uuid4())
    try:
        command.upgrade(_config(url), "0005")
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("INSERT INTO credits.accounts (user_id, balance) VALUES (%s, 0)", (user,))
            conn.execute(
                "INSERT INTO credits.entries (user_id, kind, amount, balance_after, reference)"
                " SELECT %s, CASE WHEN g %% 2 = 1 THEN 'grant' ELSE 'usage' END,"
                " CASE WHEN g %% 2 = 1 THEN 1 ELSE -1 END, g %% 2, 'ref-' || g"
                " FROM generate_series(1, %s) AS g",
                (user, ENTRIES),
            )
            # As a build cut off by a crash leaves it: there, but not valid.
            conn.execute("CREATE INDEX ix_entries_user_kind_id ON credits.entries (user_id)")
            conn.execute(
                "UPDATE pg_index SET indisvalid = false"
                " WHERE indexrelid = 'credits.ix_entries_user_kind_id'::regclass"
            )
        command.upgrade(_config(url), "head")
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            assert _valid(conn) == dict.fromkeys(INDEXES, True)
            conn.execute("ANALYZE credits.entries")
            by_reference = _plan(conn, BY_REFERENCE, (user, "ref-77"))
            assert "ix_entries_user_reference_id" in by_reference, by_reference
            by_kind = _plan(conn, BY_KIND, (user, ["purchase"]))
            assert "ix_entries_user_kind_id" in by_kind, by_kind
        command.downgrade(_config(url), "0005")
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            assert _valid(conn) == {}
    finally:
        drop_database(pg_server_url, name)
