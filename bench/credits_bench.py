"""Benchmark of the credits service's Deduct against three baselines, in one run.

    .venv/bin/python bench/credits_bench.py [--seconds 10] [--warmup 2] [--in-flight 16,64]

On one PostgreSQL (DATABASE_URL, else the embedded server in .data/bench-postgres) and a
new database dropped at the end, at each number of requests in flight it measures:
  * credits Deduct: the real service (python -m credits.main) under k6 over gRPC;
  * a no-op gRPC server with the same API under the same k6 script: the RPC's own cost;
  * pgbench calling the seed design's seed.deduct_credits: the database's ceiling;
  * Python (psycopg, asyncio) calling seed.deduct_credits directly: the seed system.
Everything listens on loopback only. Not a test: it prints numbers and writes
bench/results/credits-<timestamp>.json; it fails only when something cannot run.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # the sibling bench_* modules

from bench_cpu import CpuWatch  # noqa: E402
from bench_db import (  # noqa: E402
    SEED_USERS, BenchDatabase, embedded_postmaster_pid, seed_user_ids, server_url,
    server_version,
)
from bench_direct import run_direct  # noqa: E402
from bench_k6 import k6_binary, run_k6, write_users  # noqa: E402
from bench_pgbench import run_pgbench  # noqa: E402
from bench_procs import ChildFailed, Processes  # noqa: E402
from bench_report import (  # noqa: E402
    CREDITS, NOOP, Result, p99_verdict, ratio_lines, ratios, table, write_json,
)
from bench_service import (  # noqa: E402
    BENCH_SETS, Tokens, fund_accounts, reconcile, start_credits, start_noop, usage_entries,
)

RESULTS_DIR = BENCH / "results"
PROTO_DIR = BENCH.parent / "protos"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10,
                        help="measured seconds per scenario and concurrency (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="unmeasured seconds before each measurement (default 2)")
    parser.add_argument("--in-flight", default="16,64",
                        help="comma-separated requests in flight (default 16,64)")
    parser.add_argument("--accounts", type=int, default=1000,
                        help="funded credits accounts to spread Deducts over (default 1000)")
    parser.add_argument("--k6-proto", action="store_true",
                        help="k6 loads protos/ instead of using server reflection")
    args = parser.parse_args()
    args.levels = [int(x) for x in args.in_flight.split(",") if x.strip()]
    if args.seconds < 1 or args.warmup < 0 or not args.levels or min(args.levels) < 1:
        parser.error("--seconds >= 1, --warmup >= 0, --in-flight positive integers")
    return args


def _terminate(signum, _frame) -> None:
    # SIGTERM/SIGHUP take the same path as Ctrl-C, so every finally/cleanup runs.
    raise KeyboardInterrupt(f"signal {signum}")


def _shield_cleanup() -> None:
    # Once cleanup starts, a second Ctrl-C must not leave a server or database behind.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def machine(db_label: str, libpq: str) -> dict:
    load = os.getloadavg()
    k6 = subprocess.run([k6_binary(), "version"], capture_output=True, text=True, timeout=30)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "loadavg": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "postgres": server_version(libpq),
        "database": db_label,
        "k6": k6.stdout.strip().split(" (")[0],
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "service_settings": service_settings(),
    }


def service_settings() -> str:
    """What besides the defaults configures the service under test (never the tokens)."""
    mine = set(BENCH_SETS) | {"CREDITS_CALLER_TOKENS"}
    inherited = sorted(f"{k}={v}" for k, v in os.environ.items()
                       if k.startswith("CREDITS_") and k not in mine)
    parts = [f"from the environment: {' '.join(inherited)}"] if inherited else []
    if (BENCH.parent / ".env").exists():
        parts.append(".env exists and is read by the service")
    return "; ".join(parts) or "defaults"


def print_header(info: dict, args: argparse.Namespace) -> None:
    print(f"credits bench  {info['started']}  nproc={info['nproc']}  "
          f"loadavg={' '.join(map(str, info['loadavg']))}  python {info['python']}  "
          f"postgres {info['postgres']} ({info['database']})  {info['k6']}")
    print(f"{args.seconds} s measured + {args.warmup} s warmup per run; in flight "
          f"{args.levels}; k6, the servers and PostgreSQL share these {info['nproc']} cores")
    print(f"credits service settings: {info['service_settings']}", flush=True)


class Bench:
    """One benchmark run: the scenarios, in order, sharing processes and a database."""

    def __init__(self, args, procs: Processes, db: BenchDatabase, work: Path,
                 postmaster_pid: int | None) -> None:
        self.args, self.procs, self.db, self.work = args, procs, db, work
        self.postmaster_pid = postmaster_pid
        self.checks: dict = {}
        self.users_file = work / "credits-users.json"

    def run_all(self) -> list[Result]:
        results = self.credits()
        results += self.noop()
        for level in self.args.levels:
            results.append(self._watched(None, lambda: run_pgbench(
                self.procs, libpq=self.db.libpq, clients=level, warmup_s=self.args.warmup,
                seconds=self.args.seconds, work=self.work)))
        seed_users = seed_user_ids(self.db.url)
        for level in self.args.levels:
            results.append(self._watched(os.getpid(), lambda: run_direct(
                self.db.libpq, seed_users, workers=level, warmup_s=self.args.warmup,
                seconds=self.args.seconds)))
        return results

    def credits(self) -> list[Result]:
        tokens = Tokens.fresh()
        address, pid = start_credits(self.procs, self.db.url, tokens, self.work)
        started = time.monotonic()
        run = uuid.uuid4().hex[:8]
        users = asyncio.run(fund_accounts(address, tokens, self.args.accounts, run))
        print(f"funded {len(users)} accounts in {time.monotonic() - started:.1f} s", flush=True)
        write_users(users, self.users_file)
        results = [self._k6(CREDITS, address, pid, tokens.generation, level)
                   for level in self.args.levels]
        checked, drifts = asyncio.run(reconcile(address, tokens))
        self.checks.update(accounts_reconciled=checked, drifts=drifts,
                           usage_entries_committed=usage_entries(self.db.libpq))
        self.procs.stop_all()  # free the cores for the baselines
        return results

    def noop(self) -> list[Result]:
        address, pid = start_noop(self.procs, self.work)
        token = Tokens.fresh().generation  # checked by nobody, but sent all the same
        results = [self._k6(NOOP, address, pid, token, level) for level in self.args.levels]
        self.procs.stop_all()
        return results

    def _k6(self, scenario: str, address: str, pid: int, token: str, level: int) -> Result:
        return self._watched(pid, lambda: run_k6(
            self.procs, scenario=scenario, address=address, token=token,
            users_file=self.users_file, run_id=uuid.uuid4().hex[:10], vus=level,
            warmup_s=self.args.warmup, seconds=self.args.seconds, work=self.work,
            proto_dir=PROTO_DIR if self.args.k6_proto else None))

    def _watched(self, subject_pid: int | None, run) -> Result:
        with CpuWatch(subject_pid, self.postmaster_pid) as watch:
            result = run()
        assert watch.result is not None
        result.subject_cpu_pct = watch.result.subject_pct
        result.other_cpu_pct = watch.result.others_pct
        result.machine_cpu_pct = watch.result.machine_pct
        print(f"  {result.scenario} @{result.in_flight}: {result.rps:.0f} req/s, "
              f"p99 {result.p99_ms or 0:.2f} ms, {result.errors} errors, "
              f"others used {result.other_cpu_pct:.0f}% CPU", flush=True)
        return result


def report(info: dict, args, results: list[Result], checks: dict) -> None:
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    info.update(seconds=args.seconds, warmup=args.warmup, seed_users=SEED_USERS)
    found, verdict = ratios(results, args.levels), p99_verdict(results)
    print()
    print(table(results))
    if info["database"] == "DATABASE_URL":
        print("(with DATABASE_URL, a PostgreSQL running on this machine counts as 'others')")
    print()
    print(ratio_lines(found, verdict))
    print(f"ledger after load: {checks.get('usage_entries_committed')} Deducts committed; "
          f"reconcile: {checks.get('accounts_reconciled')} accounts, "
          f"{checks.get('drifts')} drifts")
    path = write_json(RESULTS_DIR, info, results, found, verdict, checks)
    print(f"loadavg at end: {' '.join(map(str, info['loadavg_end']))}; results: "
          f"{path.relative_to(BENCH.parent)}")


def main() -> int:
    args = parse_args()
    # Explicit: a shell starts background jobs with SIGINT ignored, and Python keeps that.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="vg-bench-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        server, embedded = server_url()
        db = BenchDatabase(server)
        stack.callback(db.drop)
        procs = Processes()
        stack.callback(procs.stop_all)
        stack.callback(_shield_cleanup)  # registered last, so it runs first
        db.create()
        info = machine("embedded .data/bench-postgres" if embedded else "DATABASE_URL",
                       db.libpq)
        print_header(info, args)
        bench = Bench(args, procs, db, work, embedded_postmaster_pid() if embedded else None)
        results = bench.run_all()
    report(info, args, results, bench.checks)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped and the bench database dropped",
              file=sys.stderr)
        sys.exit(130)
    except ChildFailed as exc:
        print(f"\nbench failed: {exc}", file=sys.stderr)
        sys.exit(1)
