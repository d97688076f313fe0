"""Accounts from before grants keep their money: one never-expiring grant each, usage
made then still refunds, and the old unlimited plan keeps its terms."""

import uuid

import psycopg
import sqlalchemy
from alembic import command
from alembic.config import Config

from videogen_common.db import libpq_url, sqlalchemy_url
from videogen_common.testing.pg import create_database, drop_database, unique_name
from videogen_credits.reconcile import RECONCILE, drifts_of

from ..conftest import CREDITS_ALEMBIC_INI

OLD_BATCH = (
    "SELECT status FROM credits.apply_batch(%s::text[], %s::uuid[], %s::bigint[],"
    " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
)


def _migrate(url: str, revision: str) -> None:
    config = Config(str(CREDITS_ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)


def _old(conn, op, user, amount, kind, ref, key):
    row = conn.execute(
        OLD_BATCH, ([op], [user], [amount], [kind], [ref], [key], [key], [""], ["tests"])
    ).fetchone()
    assert row[0] == "ok", row


def test_balances_written_the_old_way_survive_the_upgrade(pg_server_url):
    name = unique_name("vg_migr")
    url = create_database(pg_server_url, name)
    try:
        _migrate(url, "0002")
        rich, capped = uuid.uuid4(), uuid.uuid4()
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            for user in (rich, capped):
                conn.execute(
                    "INSERT INTO credits.accounts (user_id, balance) VALUES (%s, 100)", (user,)
                )
                conn.execute(
                    "INSERT INTO credits.entries (user_id, kind, amount,"
                    " balance_after) VALUES (%s, 'signup_grant', 100, 100)",
                    (user,),
                )
            _old(conn, "deduct", rich, 30, "usage", "gen-old", "k1")
            _old(conn, "add", rich, 500, "purchase", "cs_old", "k2")
            conn.execute("UPDATE credits.accounts SET plan = 'pro' WHERE user_id = %s", (capped,))
        _migrate(url, "head")
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            grants = conn.execute(
                "SELECT user_id, source, amount, remaining, expires_at"
                " FROM credits.grants ORDER BY user_id"
            ).fetchall()
            assert sorted((str(u), s, a, r, e) for u, s, a, r, e in grants) == sorted(
                [(str(rich), "migrated", 570, 570, None), (str(capped), "migrated", 100, 100, None)]
            )
            plan = conn.execute(
                "SELECT plan FROM credits.accounts WHERE user_id = %s", (capped,)
            ).fetchone()[0]
            assert plan == "unlimited"
            # A charge from before grants refunds into a grant of its own.
            refund = conn.execute(
                "SELECT status, balance FROM credits.apply_batch(ARRAY['refund'], ARRAY[NULL]"
                "::uuid[], ARRAY[0]::bigint[], ARRAY['refund'], ARRAY['gen-old'],"
                " ARRAY['k3'], ARRAY['k3'], ARRAY[''], ARRAY['t'], ARRAY[NULL]::text[],"
                " ARRAY[NULL]::int[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::int[],"
                " ARRAY[NULL]::timestamptz[], ARRAY[NULL]::bigint[])"
            ).fetchone()
            assert refund == ("ok", 600)
            # A purchase from before grants can still be reversed (from what is left).
            reversal = conn.execute(
                "SELECT status, balance, debt FROM credits.apply_batch(ARRAY['reverse'],"
                " ARRAY[NULL]::uuid[], ARRAY[0]::bigint[], ARRAY['reversal'],"
                " ARRAY['cs_old'], ARRAY['k4'], ARRAY['k4'], ARRAY[''], ARRAY['t'],"
                " ARRAY[NULL]::text[], ARRAY[NULL]::int[], ARRAY[NULL]::timestamptz[],"
                " ARRAY[NULL]::int[], ARRAY[NULL]::timestamptz[], ARRAY[NULL]::bigint[])"
            ).fetchone()
            assert reversal == ("ok", 100, 0)
            engine = sqlalchemy.create_engine(sqlalchemy_url(url))
            with engine.connect() as sa:
                checked, drifts = drifts_of(
                    sa.execute(sqlalchemy.text(RECONCILE), {"u": None}).all()
                )
            engine.dispose()
            assert (checked, drifts) == (2, [])
    finally:
        drop_database(pg_server_url, name)
