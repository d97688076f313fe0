"""The seed system's approach: Python calls seed.deduct_credits straight, autocommit.

N asyncio workers, each with its own connection and one call in flight, for a warmup and
then the measured window. This is what the credits service replaces, so it shows what
the service's validation, idempotency, ledger and gRPC edge cost on top of a bare call.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass, field

import psycopg
from bench_report import DIRECT, Result, percentile

CALL = "SELECT seed.deduct_credits(%s, 1, gen_random_uuid())"
# On Ctrl-C psycopg warns once per connection whose query it cancels; that is expected.
logging.getLogger("psycopg").setLevel(logging.ERROR)


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


async def _worker(
    conn: psycopg.AsyncConnection,
    users: list[uuid.UUID],
    measure_from: float,
    until: float,
    tally: Tally,
) -> None:
    while (started := time.perf_counter()) < until:
        try:
            await conn.execute(CALL, (random.choice(users),))
            ok = True
        except psycopg.Error as exc:
            ok = False
            if not tally.first_error:
                tally.first_error = f"{type(exc).__name__}: {exc}"[:300]
        if started < measure_from:
            continue  # warmup
        if ok:
            tally.latencies_ms.append((time.perf_counter() - started) * 1000.0)
        else:
            tally.errors += 1


async def _run(
    libpq: str, users: list[uuid.UUID], workers: int, warmup_s: int, seconds: int
) -> Tally:
    conns = []
    try:
        for _ in range(workers):
            conns.append(
                await psycopg.AsyncConnection.connect(libpq, autocommit=True, connect_timeout=10)
            )
        tally = Tally()
        measure_from = time.perf_counter() + warmup_s
        until = measure_from + seconds
        await asyncio.gather(*(_worker(c, users, measure_from, until, tally) for c in conns))
        return tally
    finally:
        for conn in conns:
            await conn.close()


def run_direct(
    libpq: str, user_ids: list[str], *, workers: int, warmup_s: int, seconds: int
) -> Result:
    users = [uuid.UUID(u) for u in user_ids]
    tally = asyncio.run(_run(libpq, users, workers, warmup_s, seconds))
    latencies = sorted(tally.latencies_ms)
    mean = sum(latencies) / len(latencies) if latencies else None
    return Result(
        scenario=DIRECT,
        in_flight=workers,
        requests=len(latencies) + tally.errors,
        rps=len(latencies) / seconds,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        mean_ms=mean,
        errors=tally.errors,
        note=tally.first_error,
    )
