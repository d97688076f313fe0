"""Benchmark of the credits service's Deduct and the generation service's CreateGeneration
against baselines, in one run.

    .venv/bin/python bench/credits_bench.py [--seconds 10] [--warmup 2] [--in-flight 16,64]
        [--generation-in-flight 16] [--webhook-in-flight 64]
        [--only credits,generation,baselines,webhooks]

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
    service updating generations created just before.
Everything listens on loopback only. Not a test: it prints numbers and writes
bench/results/credits-<timestamp>.json; it fails only when something cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
from bench_chart import draw  # noqa: E402
from bench_cpu import CpuWatch, rss_mb  # noqa: E402
from bench_db import (  # noqa: E402
    SEED_USERS,
    BenchDatabase,
    embedded_postmaster_pid,
    seed_user_ids,
    server_url,
)
from bench_direct import run_direct  # noqa: E402
from bench_footprint import footprint, footprint_lines, run_api, run_startup  # noqa: E402
from bench_generation import (  # noqa: E402
    generation_checks,
    phase_lines,
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
    before_lines,
    generation_comparison,
    generation_lines,
    loop_lines,
    p99_verdict,
    ratio_lines,
    ratios,
    table,
    webhook_comparison,
    webhook_lines,
    write_json,
)
from bench_scale import (  # noqa: E402
    history_lines,
    hot_lines,
    run_history,
    run_hot,
    run_workers,
    workers_lines,
)
from bench_service import (  # noqa: E402
    Tokens,
    fund_accounts,
    reconcile,
    start_credits,
    start_noop,
    usage_entries,
)
from bench_targets import as_json, target_lines, targets  # noqa: E402
from bench_webhooks import WebhookBench  # noqa: E402

RESULTS_DIR = BENCH / "results"
PROTO_DIR = BENCH.parent / "protos"
SCENARIOS = (
    "credits",
    "workers",
    "uvloop",
    "before",
    "ledger",
    "generation",
    "noop",
    "pgbench",
    "direct",
    "webhooks",
    "hot",
    "history",
    "api",
    "startup",
)
IDLE_SETTLE_S = 2.0
GROUPS = {"baselines": ("noop", "pgbench", "direct"), "all": SCENARIOS}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds",
        type=int,
        default=10,
        help="measured seconds per scenario and concurrency (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="unmeasured seconds before each measurement (default 2)",
    )
    parser.add_argument(
        "--in-flight", default="16,64", help="comma-separated requests in flight (default 16,64)"
    )
    parser.add_argument(
        "--generation-in-flight",
        type=int,
        default=16,
        help="CreateGeneration's requests in flight; Deduct is measured there too (default 16)",
    )
    parser.add_argument(
        "--webhook-in-flight",
        type=int,
        default=64,
        help="webhook requests in flight, for (a), (b) and (c) (default 64)",
    )
    parser.add_argument(
        "--webhook-targets",
        type=int,
        default=200,
        help="generations created for the webhooks to update (default 200)",
    )
    parser.add_argument(
        "--only",
        default="all",
        help="comma-separated scenarios to run, out of "
        f"{', '.join(SCENARIOS)}, baselines (= noop, pgbench, direct) "
        "(default all)",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=1000,
        help="funded credits accounts to spread the load over (default 1000)",
    )
    parser.add_argument(
        "--history-entries",
        type=int,
        default=10_000_000,
        help="entries of the long history's account (default 10^7; the short one has 10^3)",
    )
    parser.add_argument(
        "--k6-proto",
        action="store_true",
        help="k6 loads protos/ instead of using server reflection",
    )
    args = parser.parse_args()
    args.levels = [int(x) for x in args.in_flight.split(",") if x.strip()]
    if (
        args.seconds < 1
        or args.warmup < 0
        or not args.levels
        or min(args.levels) < 1
        or min(args.generation_in_flight, args.webhook_in_flight, args.webhook_targets) < 1
        or args.history_entries < 2000
    ):
        parser.error(
            "--seconds >= 1, --warmup >= 0, --in-flight, --generation-in-flight, "
            "--webhook-in-flight and --webhook-targets positive integers, "
            "--history-entries >= 2000"
        )
    chosen: set[str] = set()
    for name in (x.strip() for x in args.only.split(",") if x.strip()):
        if name not in SCENARIOS and name not in GROUPS:
            parser.error(f"--only: unknown scenario {name!r}")
        chosen.update(GROUPS.get(name, (name,)))
    if not chosen:
        parser.error("--only: name at least one scenario")
    args.scenarios = [name for name in SCENARIOS if name in chosen]
    return args


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
            results.append(
                self._watched(
                    None,
                    lambda: run_pgbench(
                        self.procs,
                        libpq=self.db.libpq,
                        clients=level,
                        warmup_s=self.args.warmup,
                        seconds=self.args.seconds,
                        work=self.work,
                    ),
                )
            )
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


def report(info: dict, args, results: list[Result], checks: dict) -> None:
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    info.update(seconds=args.seconds, warmup=args.warmup, seed_users=SEED_USERS)
    found, verdict = ratios(results, args.levels), p99_verdict(results)
    generation = generation_comparison(results, args.generation_in_flight)
    webhooks = webhook_comparison(results, args.webhook_in_flight)
    print()
    print(table(results))
    if info["database"] == "DATABASE_URL":
        print("(with DATABASE_URL, a PostgreSQL running on this machine counts as 'others')")
    print()
    print(ratio_lines(found, verdict))
    print(generation_lines(generation))
    if compared := before_lines(results, args.levels):
        print(compared)
    for compared in (
        loop_lines(results, args.levels),
        workers_lines(results, args.levels),
        hot_lines(results),
    ):
        if compared:
            print(compared)
    if "history" in checks:
        print(history_lines(checks["history"]))
    if text := footprint_lines(checks["footprint"], checks.get("startup")):
        print(text)
    if "ledger_lines" in checks:
        print("\n".join(checks["ledger_lines"]))
    if "accounts_reconciled" in checks:
        charges = " (CreateGeneration's charges included)" if "generations" in checks else ""
        print(
            f"ledger after load: {checks.get('usage_entries_committed')} Deducts committed"
            f"{charges}; reconcile: {checks.get('accounts_reconciled')} accounts, "
            f"{checks.get('drifts')} drifts"
        )
    if "generations" in checks:
        print(
            f"generations after load (warmup included): {checks['generations']} rows, "
            f"{checks['generations_charged']} charged, {checks['generations_submitted']} "
            f"with a prediction id, {checks['generations_starting']} starting (k6 drops the "
            "requests in flight when the warmup ends: those stay for recovery)"
        )
        print(
            f"where CreateGeneration's time goes ({checks['generation_phases_rows']} requests,"
            " warmup included; from the database's and the emulator's clocks):"
        )
        print("\n".join(phase_lines(checks)))
    print(webhook_lines(webhooks, checks))
    measured = targets(results, checks, args.generation_in_flight, args.webhook_in_flight)
    print(target_lines(measured))
    path = write_json(
        RESULTS_DIR, info, results, found, verdict, checks, generation, webhooks, as_json(measured)
    )
    chart = draw(json.loads(path.read_text()), path.with_suffix(".png"))
    print(
        f"loadavg at end: {' '.join(map(str, info['loadavg_end']))}; results: "
        f"{path.relative_to(BENCH.parent)}, chart: {chart.relative_to(BENCH.parent)}"
    )


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
