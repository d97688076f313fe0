"""Scenarios of scale: more processes, one hot account, a long history.

* workers: the credits service with CREDITS_WORKERS=2 (two processes on one port)
  under the same Deduct load as the one-process service ("credits");
* hot: every Deduct on one account, beside pgbench with every client on one row;
* history: a balance read and a history page of an account with 10^3 entries and of
  one with --history-entries (10^7), same service, same run.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
import psutil
import psycopg
from bench_k6 import write_users
from bench_report import (
    CREDITS,
    CREDITS_HOT,
    CREDITS_WORKERS,
    PGBENCH_HOT,
    Result,
    cpu_ms_per_request,
    find,
    percentile,
)
from bench_service import Tokens, fund_accounts, start_credits

from videogen.credits.v1 import credits_pb2 as pb
from videogen.credits.v1 import credits_pb2_grpc as pb_grpc
from videogen_common.caller_auth import caller_metadata

HOT_IN_FLIGHT = 64
HISTORY_SMALL = 1_000
HISTORY_IN_FLIGHT = 8
HISTORY_RATIO_TARGET = 1.5  # p50 at 10^7 entries / p50 at 10^3


def _wait_listening(pid: int, port: int, count: int, timeout_s: float = 60.0) -> None:
    """Until ``count`` children of ``pid`` (the workers) listen on ``port``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listening = 0
        for child in psutil.Process(pid).children():
            try:
                conns = child.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            listening += any(c.status == "LISTEN" and c.laddr.port == port for c in conns)
        if listening >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{count} workers did not listen on port {port} in {timeout_s:.0f} s")


def run_workers(bench) -> list[Result]:
    """Deduct on two worker processes; CPU counts the supervisor and both workers."""
    tokens = Tokens.fresh()
    address, pid = start_credits(
        bench.procs,
        bench.db.url,
        tokens,
        bench.work,
        {"CREDITS_WORKERS": "2"},
        "credits-service-workers",
    )
    try:
        _wait_listening(pid, int(address.rsplit(":", 1)[1]), 2)
        users = asyncio.run(fund_accounts(address, tokens, bench.args.accounts, uuid.uuid4().hex))
        users_file = write_users(users, bench.work / "credits-workers-users.json")
        return [
            bench._k6(
                CREDITS_WORKERS,
                address,
                pid,
                tokens.generation,
                level,
                users_file=users_file,
                subject_tree=True,
            )
            for level in bench.args.levels
        ]
    finally:
        bench.procs.stop_all()


def run_hot(bench) -> list[Result]:
    """64 clients on one account through the service, then 64 pgbench clients on one row."""
    tokens = Tokens.fresh()
    address, pid = start_credits(
        bench.procs, bench.db.url, tokens, bench.work, None, "credits-service-hot"
    )
    try:
        users = asyncio.run(fund_accounts(address, tokens, 1, uuid.uuid4().hex))
        users_file = write_users(users, bench.work / "credits-hot-user.json")
        results = [
            bench._k6(
                CREDITS_HOT, address, pid, tokens.generation, HOT_IN_FLIGHT, users_file=users_file
            )
        ]
    finally:
        bench.procs.stop_all()
    results.append(bench.pgbench(HOT_IN_FLIGHT, hot=True))
    return results


# +1, -1, +1, ...: the balance ends where it started, so the ledger still adds up.
FILL = """
INSERT INTO credits.entries (user_id, kind, amount, balance_after, description, actor)
SELECT %(u)s, 'admin_adjustment', CASE WHEN g %% 2 = 1 THEN 1 ELSE -1 END,
       %(b)s + g %% 2, 'bench history', 'credits-bench'
FROM generate_series(1, %(n)s) AS g
"""


def fill_history(libpq: str, user_id: str, entries: int) -> float:
    """Give the account ``entries`` entries in all; seconds it took (vacuum included)."""
    started = time.monotonic()
    with psycopg.connect(libpq, autocommit=True) as conn:
        have, balance = conn.execute(
            "SELECT count(*), (SELECT balance FROM credits.accounts WHERE user_id = %(u)s)"
            " FROM credits.entries WHERE user_id = %(u)s",
            {"u": user_id},
        ).fetchone()
        missing = max(0, entries - have)
        missing -= missing % 2  # in pairs
        conn.execute(FILL, {"u": user_id, "b": balance, "n": missing})
        conn.execute("VACUUM (ANALYZE) credits.entries")  # as autovacuum would, later
        conn.execute("CHECKPOINT")  # its writes out of the way of what is measured next
    return time.monotonic() - started


def _operations(user_id: str):
    return {
        "balance": lambda stub: stub.GetBalance(pb.GetBalanceRequest(user_id=user_id)),
        "history page": lambda stub: stub.ListTransactions(
            pb.ListTransactionsRequest(user_id=user_id, page_size=50)
        ),
        # A kind the account has none of: the page must look past every entry it has.
        "history of one kind": lambda stub: stub.ListTransactions(
            pb.ListTransactionsRequest(
                user_id=user_id, page_size=50, kinds=[pb.ENTRY_KIND_PURCHASE]
            )
        ),
        # The entries of one reference (a generation's charge and refund, say).
        "history of a reference": lambda stub: stub.ListTransactions(
            pb.ListTransactionsRequest(user_id=user_id, page_size=50, reference="gen-none")
        ),
    }


async def _measure(address: str, token: str, call, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CreditsServiceStub(channel)
        metadata = caller_metadata(token)
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    await call(_Stub(stub, metadata))
                    latencies.append((time.perf_counter() - started) * 1000)
                except grpc.RpcError:
                    errors += 1

        begun = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(HISTORY_IN_FLIGHT)))
        elapsed = time.monotonic() - begun
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "errors": errors,
    }


class _Stub:
    """The stub with the caller's token and a deadline on every call."""

    def __init__(self, stub, metadata) -> None:
        self._stub, self._metadata = stub, metadata

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        return lambda request: method(request, metadata=self._metadata, timeout=60)


def run_history(bench) -> dict:
    big = bench.args.history_entries
    tokens = Tokens.fresh()
    address, _pid = start_credits(
        bench.procs, bench.db.url, tokens, bench.work, None, "credits-service-history"
    )
    try:
        small_user, big_user = asyncio.run(fund_accounts(address, tokens, 2, uuid.uuid4().hex))
        fill_s = {
            HISTORY_SMALL: fill_history(bench.db.libpq, small_user, HISTORY_SMALL),
            big: fill_history(bench.db.libpq, big_user, big),
        }
        print(f"history filled: {big} entries in {fill_s[big]:.0f} s", flush=True)
        measured: dict = {}
        accounts = {HISTORY_SMALL: _operations(small_user), big: _operations(big_user)}
        for name in accounts[big]:  # each operation on both accounts, one after the other
            for size, operations in accounts.items():
                call = operations[name]
                asyncio.run(_measure(address, tokens.api, call, bench.args.warmup or 1))
                measured.setdefault(name, {})[str(size)] = asyncio.run(
                    _measure(address, tokens.api, call, bench.args.seconds)
                )
    finally:
        bench.procs.stop_all()
    for by_size in measured.values():
        small, large = by_size[str(HISTORY_SMALL)], by_size[str(big)]
        by_size["p50_ratio"] = (
            large["p50_ms"] / small["p50_ms"] if small["p50_ms"] and large["p50_ms"] else None
        )
    return {
        "sizes": [HISTORY_SMALL, big],
        "in_flight": HISTORY_IN_FLIGHT,
        "fill_s": fill_s[big],
        "target": HISTORY_RATIO_TARGET,
        "operations": measured,
    }


def history_lines(found: dict | None) -> str:
    if not found:
        return "history: not measured (not in --only)"
    small, big = found["sizes"]
    lines = [
        f"balance and history of one account at {small} and at {big} entries "
        f"({found['in_flight']} in flight; {big} entries written by SQL in "
        f"{found['fill_s']:.0f} s):"
    ]
    for name, by_size in found["operations"].items():
        a, b, ratio = by_size[str(small)], by_size[str(big)], by_size["p50_ratio"]
        state = "-" if ratio is None else "MET" if ratio <= found["target"] else "NOT MET"
        lines.append(
            f"  {name:<20} {a['rps']:7.0f} vs {b['rps']:7.0f} req/s, p50 {a['p50_ms'] or 0:7.2f}"
            f" vs {b['p50_ms'] or 0:9.2f} ms: {ratio or 0:.2f}x (target <= "
            f"{found['target']}x: {state})"
        )
    return "\n".join(lines)


def _cpu(r: Result) -> str:
    ms = cpu_ms_per_request(r)
    return "-" if ms is None else f"{ms:.2f} ms"


def workers_lines(results: list[Result], levels: list[int]) -> str:
    """One process against two (CREDITS_WORKERS=2) under the same Deduct load."""
    out = []
    for level in levels:
        one, two = find(results, CREDITS, level), find(results, CREDITS_WORKERS, level)
        if one is None or two is None or not one.rps:
            continue
        out.append(
            f"  Deduct 2 workers / 1 @{level}: {two.rps / one.rps:.2f}x ({two.rps:.0f} vs "
            f"{one.rps:.0f} req/s; p99 {two.p99_ms or 0:.1f} vs {one.p99_ms or 0:.1f} ms; "
            f"CPU per request {_cpu(two)} vs {_cpu(one)}; service CPU "
            f"{two.subject_cpu_pct or 0:.0f}% vs {one.subject_cpu_pct or 0:.0f}%)"
        )
    return "\n".join(out)


def hot_lines(results: list[Result]) -> str:
    service = find(results, CREDITS_HOT, HOT_IN_FLIGHT)
    pgbench = find(results, PGBENCH_HOT, HOT_IN_FLIGHT)
    if service is None or pgbench is None or not pgbench.rps:
        return ""
    return (
        f"  one hot account @{HOT_IN_FLIGHT}: Deduct {service.rps:.0f} req/s (p99 "
        f"{service.p99_ms or 0:.1f} ms) vs pgbench on one row {pgbench.rps:.0f} tps (p99 "
        f"{pgbench.p99_ms or 0:.1f} ms): {service.rps / pgbench.rps:.2f}x"
    )
