"""make bench's command line and its printed summary (credits_bench.py runs the scenarios).

The scenarios, the options, and the report: the table, each comparison, the targets,
the JSON in bench/results/ and the chart beside it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench_chart import draw
from bench_db import SEED_USERS
from bench_footprint import footprint_lines
from bench_generation import phase_lines
from bench_report import (
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
from bench_scale import history_lines, hot_lines, workers_lines
from bench_targets import as_json, target_lines, targets

BENCH = Path(__file__).resolve().parent
RESULTS_DIR = BENCH / "results"
DESCRIPTION = "Benchmarks of the hot paths against baselines, in one run (make bench)."

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
GROUPS = {"baselines": ("noop", "pgbench", "direct"), "all": SCENARIOS}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
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
