"""Benchmark of the credits service's Deduct and the generation service's CreateGeneration
against baselines, in one run.

    .venv/bin/python bench/credits_bench.py [--seconds 10] [--warmup 2] [--in-flight 16,64]
        [--generation-in-flight 16] [--webhook-in-flight 64]
        [--history-entries 10000000] [--only credits,workers,generation,baselines,...]

On one PostgreSQL (DATABASE_URL, else the embedded server in .data/bench-postgres) and a
new database dropped at the end, at each number of requests in flight it measures:
  * credits Deduct: the real service (python -m videogen_credits.main) under k6 over gRPC;
  * generation CreateGeneration (at --generation-in-flight only): the real service
    (python -m videogen_generation.main) writing the row, charging through that same credits
    service and submitting to the Replicate emulator, which answers at once;
  * a no-op gRPC server with the same API under the same k6 script: the RPC's own cost;
  * pgbench calling the seed design's seed.deduct_credits: the database's ceiling;
  * Python (psycopg, asyncio) calling seed.deduct_credits directly: the seed system;
  * Replicate webhooks (at --webhook-in-flight only, k6 over HTTP, see bench_webhooks):
    the webhook gateway in front of a generation server that acknowledges at once, an
    aiohttp handler that does nothing, and the gateway in front of the real generation
    service updating generations created just before;
  * and workers, uvloop, before, ledger, hot, history, api, startup: see bench_scale,
    bench_footprint, bench_baseline and bench_ledger.
Everything listens on loopback only. Not a test: it prints numbers and the targets
(bench_targets), writes bench/results/credits-<timestamp>.json and draws the run beside
it as a PNG (bench_chart); it fails only when something cannot run. The options and
the summary: bench_cli.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))  # the sibling bench_* modules

from bench_baseline import drop as drop_baseline  # noqa: E402
from bench_baseline import start_baseline_credits  # noqa: E402
from bench_cli import parse_args, report  # noqa: E402
from bench_cpu import CpuWatch, rss_mb  # noqa: E402
from bench_db import (  # noqa: E402
    BenchDatabase,
    embedded_postmaster_pid,
    seed_user_ids,
    server_url,
)
from bench_direct import run_direct  # noqa: E402
from bench_footprint import footprint, run_api, run_startup  # noqa: E402
from bench_generation import (  # noqa: E402
    generation_checks,
    start_generation_stack,
)
from bench_info import machine, print_header  # noqa: E402
from bench_k6 import CREATE_GENERATION, DEDUCT, K6Script, run_k6, write_users  # noqa: E402
from bench_ledger import lines as ledger_lines  # noqa: E402
from bench_ledger import run as run_ledger  # noqa: E402
from bench_pgbench import run_pgbench  # noqa: E402
from bench_procs import ChildFailed, Processes  # noqa: E402
from bench_report import (  # noqa: E402
    CREDITS,
    CREDITS_BEFORE,
    CREDITS_UVLOOP,
    GENERATION,
    NOOP,
    Result,
)
from bench_scale import (  # noqa: E402
    run_history,
    run_hot,
    run_workers,
)
from bench_service import (  # noqa: E402
    Tokens,
    fund_accounts,
    reconcile,
    start_credits,
    start_noop,
    usage_entries,
)
from bench_webhooks import WebhookBench  # noqa: E402

PROTO_DIR = BENCH.parent / "protos"
IDLE_SETTLE_S = 2.0


def _terminate(signum, _frame) -> None:
    # SIGTERM/SIGHUP take the same path as Ctrl-C, so every finally/cleanup runs.
    raise KeyboardInterrupt(f"signal {signum}")


def _shield_cleanup() -> None:
    # Once cleanup starts, a second Ctrl-C must not leave a server or database behind.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


class Bench:
    """One benchmark run: the scenarios, in order, sharing processes and a database."""

    def __init__(
        self, args, procs: Processes, db: BenchDatabase, work: Path, postmaster_pid: int | None
    ) -> None:
        self.args, self.procs, self.db, self.work = args, procs, db, work
        self.postmaster_pid = postmaster_pid
        self.checks: dict = {}
        self.users_file = work / "credits-users.json"
        self.chosen = set(args.scenarios)

    def run_all(self) -> list[Result]:
        results = self.services() if self.chosen & {"credits", "generation"} else []
        if "workers" in self.chosen:
            results += run_workers(self)
        if "uvloop" in self.chosen:
            results += self.uvloop()
        if "before" in self.chosen:
            results += self.before()
        if "ledger" in self.chosen:
            self.checks["ledger_lines"] = ledger_lines(run_ledger(self.args.seconds))
        if "noop" in self.chosen:
            results += self.noop()
        for level in self.args.levels if "pgbench" in self.chosen else ():
            results.append(self.pgbench(level))
        seed_users = seed_user_ids(self.db.url) if "direct" in self.chosen else []
        for level in self.args.levels if seed_users else ():
            results.append(
                self._watched(
                    os.getpid(),
                    lambda: run_direct(
                        self.db.libpq,
                        seed_users,
                        workers=level,
                        warmup_s=self.args.warmup,
                        seconds=self.args.seconds,
                    ),
                )
            )
        if "webhooks" in self.chosen:
            results += self.webhooks()
        if "hot" in self.chosen:
            results += run_hot(self)
        if "history" in self.chosen:
            self.checks["history"] = run_history(self)
        if "api" in self.chosen:
            results += run_api(self)
        if "startup" in self.chosen:
            self.checks["startup"] = run_startup(self)
        self.checks["footprint"] = footprint(results, self.checks)
        return results

    def webhooks(self) -> list[Result]:
        bench = WebhookBench(
            self.procs,
            database_url=self.db.url,
            libpq=self.db.libpq,
            work=self.work,
            vus=self.args.webhook_in_flight,
            warmup_s=self.args.warmup,
            seconds=self.args.seconds,
            targets=self.args.webhook_targets,
            watched=self._watched,
            note_idle=self.note_idle,
        )
        try:
            return bench.run()
        finally:
            self.checks.update(bench.checks)

    def services(self) -> list[Result]:
        """Credits Deduct, then CreateGeneration through the same credits service."""
        tokens = Tokens.fresh()
        address, pid = start_credits(self.procs, self.db.url, tokens, self.work)
        self.note_idle("credits", pid)
        started = time.monotonic()
        run = uuid.uuid4().hex[:8]
        users = asyncio.run(fund_accounts(address, tokens, self.args.accounts, run))
        print(f"funded {len(users)} accounts in {time.monotonic() - started:.1f} s", flush=True)
        write_users(users, self.users_file)
        results = []
        if "credits" in self.chosen:
            levels = list(self.args.levels)
            if "generation" in self.chosen and self.args.generation_in_flight not in levels:
                levels.append(self.args.generation_in_flight)  # CreateGeneration's reference
            results += [
                self._k6(CREDITS, address, pid, tokens.generation, level) for level in levels
            ]
        if "generation" in self.chosen:
            results.append(self.generation(address, pid, tokens))
        checked, drifts = asyncio.run(reconcile(address, tokens))
        self.checks.update(
            accounts_reconciled=checked,
            drifts=drifts,
            usage_entries_committed=usage_entries(self.db.libpq),
        )
        self.procs.stop_all()  # free the cores for the baselines
        return results

    def uvloop(self) -> list[Result]:
        """The same credits service on uvloop (EVENT_LOOP=uvloop), same load, same rows."""
        tokens = Tokens.fresh()
        address, pid = start_credits(
            self.procs,
            self.db.url,
            tokens,
            self.work,
            {"EVENT_LOOP": "uvloop"},
            "credits-service-uvloop",
        )
        try:
            users = asyncio.run(
                fund_accounts(address, tokens, self.args.accounts, uuid.uuid4().hex[:8])
            )
            users_file = self.work / "credits-uvloop-users.json"
            write_users(users, users_file)
            return [
                self._k6(
                    CREDITS_UVLOOP, address, pid, tokens.generation, level, users_file=users_file
                )
                for level in self.args.levels
            ]
        finally:
            self.procs.stop_all()

    def before(self) -> list[Result]:
        """The credits service before grants and holds, under the same Deduct load."""
        tokens = Tokens.fresh()
        address, pid, name = start_baseline_credits(self.procs, self.db.server, tokens, self.work)
        try:
            users = asyncio.run(
                fund_accounts(address, tokens, self.args.accounts, uuid.uuid4().hex[:8])
            )
            users_file = self.work / "credits-before-users.json"
            write_users(users, users_file)
            return [
                self._k6(
                    CREDITS_BEFORE, address, pid, tokens.generation, level, users_file=users_file
                )
                for level in self.args.levels
            ]
        finally:
            self.procs.stop_all()
            drop_baseline(self.db.server, name)

    def generation(self, credits_address: str, credits_pid: int, tokens: Tokens) -> Result:
        stack = start_generation_stack(
            self.procs,
            database_url=self.db.url,
            credits_address=credits_address,
            credits_tokens=tokens,
            work=self.work,
        )
        self.note_idle("generation", stack.pid)
        named = {"credits": credits_pid, "emulator": stack.emulator_pid}
        result = self._k6(
            GENERATION,
            stack.address,
            stack.pid,
            stack.api_token,
            self.args.generation_in_flight,
            CREATE_GENERATION,
            named,
        )
        self.checks.update(generation_checks(self.db.libpq, stack))
        return result

    def pgbench(self, clients: int, hot: bool = False) -> Result:
        """pgbench on the seed design's deduct_credits (``hot``: every client on one row)."""
        return self._watched(
            None,
            lambda: run_pgbench(
                self.procs,
                libpq=self.db.libpq,
                clients=clients,
                warmup_s=self.args.warmup,
                seconds=self.args.seconds,
                work=self.work,
                hot=hot,
            ),
        )

    def note_idle(self, name: str, pid: int) -> None:
        """A service's resident memory once started, before any load (after a moment to
        settle): the first start of each kept."""
        time.sleep(IDLE_SETTLE_S)
        idle = self.checks.setdefault("rss_idle_mb", {})
        if name not in idle:
            idle[name] = rss_mb(pid)

    def noop(self) -> list[Result]:
        address, pid = start_noop(self.procs, self.work)
        token = Tokens.fresh().generation  # checked by nobody, but sent all the same
        results = [self._k6(NOOP, address, pid, token, level) for level in self.args.levels]
        self.procs.stop_all()
        return results

    def _k6(
        self,
        scenario: str,
        address: str,
        pid: int,
        token: str,
        level: int,
        script: K6Script = DEDUCT,
        named: dict[str, int] | None = None,
        users_file: Path | None = None,
        subject_tree: bool = False,
    ) -> Result:
        return self._watched(
            pid,
            lambda: run_k6(
                self.procs,
                scenario=scenario,
                address=address,
                token=token,
                users_file=users_file or self.users_file,
                run_id=uuid.uuid4().hex[:10],
                vus=level,
                warmup_s=self.args.warmup,
                seconds=self.args.seconds,
                work=self.work,
                proto_dir=PROTO_DIR if self.args.k6_proto else None,
                script=script,
            ),
            named,
            subject_tree,
        )

    def _watched(
        self,
        subject_pid: int | None,
        run,
        named: dict[str, int] | None = None,
        subject_tree: bool = False,
    ) -> Result:
        with CpuWatch(subject_pid, self.postmaster_pid, named, subject_tree) as watch:
            result = run()
        assert watch.result is not None
        result.subject_cpu_pct = watch.result.subject_pct
        result.other_cpu_pct = watch.result.others_pct
        result.machine_cpu_pct = watch.result.machine_pct
        result.cpu_by_process = watch.result.by_process or None
        result.rss_start_mb = watch.result.rss_start_mb
        result.rss_peak_mb = watch.result.rss_peak_mb
        print(
            f"  {result.scenario} @{result.in_flight}: {result.rps:.0f} req/s, "
            f"p99 {result.p99_ms or 0:.2f} ms, {result.errors} errors, "
            f"others used {result.other_cpu_pct:.0f}% CPU",
            flush=True,
        )
        return result


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
        info = machine(
            "embedded .data/bench-postgres" if embedded else "DATABASE_URL",
            db.libpq,
            args.scenarios,
        )
        print_header(info, args)
        bench = Bench(args, procs, db, work, embedded_postmaster_pid() if embedded else None)
        results = bench.run_all()
    report(info, args, results, bench.checks)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped and the bench database dropped", file=sys.stderr)
        sys.exit(130)
    except ChildFailed as exc:
        print(f"\nbench failed: {exc}", file=sys.stderr)
        sys.exit(1)
