"""The ledger's database function before and after grants and holds, side by side.

Two new databases on the same server in the same run: one with the credits schema at
revision 0002 (one balance per account: what Deduct ran on before grants), one at head
(grants, draws, holds). The same Python workers call each one's ``credits.apply_batch``
with the same batches of Deduct items (the service's own statement), so the ratio is
what grants cost the ledger per Deduct; Reserve + Capture pairs run on the new one.

    .venv/bin/python bench/bench_ledger.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from bench_db import REPO, server_url  # noqa: E402

from videogen_common.db import libpq_url, with_database  # noqa: E402

INI = REPO / "services" / "credits" / "alembic.ini"
USERS = 500
OLD = (
    "SELECT status FROM credits.apply_batch(%s::text[], %s::uuid[], %s::bigint[],"
    " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
)
NEW = (
    "SELECT status FROM credits.apply_batch(%s::text[], %s::uuid[], %s::bigint[],"
    " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::text[], %s::int[], %s::timestamptz[], %s::int[], %s::timestamptz[],"
    " %s::bigint[])"
)
SHAPES = ((16, 1), (1, 48))  # (workers, items per batch): single calls; a group commit


@dataclass
class Measured:
    label: str
    workers: int
    batch: int
    items_per_s: float


def _migrate(url: str, revision: str) -> None:
    config = Config(str(INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)


def _database(server: str, revision: str) -> tuple[str, str, list[str]]:
    name = f"vg_bench_ledger_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(with_database(server, "postgres")), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    _migrate(url, revision)
    users = [str(uuid.uuid4()) for _ in range(USERS)]
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for user in users:
            if revision == "0002":
                conn.execute(
                    "INSERT INTO credits.accounts (user_id, balance) VALUES (%s, 1000000000)",
                    (user,),
                )
                conn.execute(
                    "INSERT INTO credits.entries (user_id, kind, amount,"
                    " balance_after) VALUES (%s, 'signup_grant', 1000000000,"
                    " 1000000000)",
                    (user,),
                )
            else:
                conn.execute("SELECT credits.open_account(%s, 1000000000)", (user,))
    return name, url, users


def _items(op: str, users: list[str], n: int, refs: list[str] | None = None) -> list[dict]:
    refs = refs or [uuid.uuid4().hex for _ in range(n)]
    picked = sorted((users[hash(r) % len(users)], r) for r in refs)
    return [dict(op=op, user=u, ref=r, key=f"{op}:{r}") for u, r in picked]


def _params(items: list[dict], new: bool) -> tuple:
    base = (
        [i["op"] for i in items],
        [i["user"] for i in items],
        [1] * len(items),
        ["usage"] * len(items),
        [i["ref"] for i in items],
        [i["key"] for i in items],
        [i["key"] for i in items],
        [""] * len(items),
        ["bench"] * len(items),
    )
    if not new:
        return base
    nothing = [None] * len(items)
    timeouts = [3600 if i["op"] == "reserve" else None for i in items]
    return (*base, nothing, nothing, nothing, timeouts, nothing, nothing)


async def _worker(url: str, make, new: bool, until: float, counter: list[int]) -> None:
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as c:
        while time.perf_counter() < until:
            for items in make():
                rows = await (await c.execute(NEW if new else OLD, _params(items, new))).fetchall()
                assert all(r[0] == "ok" for r in rows), rows[:3]
            counter[0] += 1


async def _measure(url: str, make, new: bool, workers: int, seconds: float) -> float:
    counter = [0]
    warm_until = time.perf_counter() + 1.0
    await asyncio.gather(*(_worker(url, make, new, warm_until, [0]) for _ in range(workers)))
    until = time.perf_counter() + seconds
    await asyncio.gather(*(_worker(url, make, new, until, counter) for _ in range(workers)))
    return counter[0] / seconds


def run(seconds: float) -> list[Measured]:
    server, _ = server_url()
    old_name, old_url, old_users = _database(server, "0002")
    new_name, new_url, new_users = _database(server, "head")
    found: list[Measured] = []
    try:
        for workers, batch in SHAPES:
            for label, url, users, new, op in (
                ("Deduct before grants (rev 0002)", old_url, old_users, False, "deduct"),
                ("Deduct on grants (head)", new_url, new_users, True, "take"),
            ):
                rate = asyncio.run(
                    _measure(url, lambda: [_items(op, users, batch)], new, workers, seconds)
                )
                found.append(Measured(label, workers, batch, rate * batch))

            def pair(users=new_users, batch=batch):
                refs = [uuid.uuid4().hex for _ in range(batch)]
                return [
                    _items("reserve", users, batch, refs),
                    _items("capture", users, batch, refs),
                ]

            rate = asyncio.run(_measure(new_url, pair, True, workers, seconds))
            found.append(Measured("Reserve + Capture pairs (head)", workers, batch, rate * batch))
    finally:
        with psycopg.connect(libpq_url(with_database(server, "postgres")), autocommit=True) as conn:
            for name in (old_name, new_name):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return found


def lines(found: list[Measured]) -> list[str]:
    out = [
        "ledger function, same server, same run (items/s; a pair is two calls):",
        f"  {'what':<34} {'workers x batch':>15} {'items/s':>10}",
    ]
    for m in found:
        out.append(f"  {m.label:<34} {f'{m.workers} x {m.batch}':>15} {m.items_per_s:>10.0f}")
    for workers, batch in SHAPES:
        shape = [m for m in found if (m.workers, m.batch) == (workers, batch)]
        before, after, pairs = (m.items_per_s for m in shape)
        verdict = "met" if after >= 0.9 * before else "NOT met"
        out.append(
            f"  {workers} x {batch}: grants/before = {after / before:.2f}"
            f" (target >= 0.90: {verdict}); pairs/Deduct = {pairs / after:.2f}"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print("\n".join(lines(run(args.seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
