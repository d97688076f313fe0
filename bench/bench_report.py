"""Results: one row per (scenario, in-flight), the table, the ratios and the JSON file."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

CREDITS = "credits Deduct (k6)"
NOOP = "no-op gRPC server (k6)"
PGBENCH = "pgbench seed.deduct_credits"
DIRECT = "Python direct seed.deduct_credits"
BASELINES = (NOOP, PGBENCH, DIRECT)
P99_TARGET_MS = 20.0
P99_TARGET_IN_FLIGHT = 64


@dataclass
class Result:
    scenario: str
    in_flight: int
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    errors: int
    note: str = ""
    # Percent of one core during the run (bench_cpu): the process doing the work in
    # Python (server, or the bench itself for the direct baseline), and unrelated ones.
    subject_cpu_pct: float | None = None
    other_cpu_pct: float | None = None
    machine_cpu_pct: float | None = None


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def table(results: list[Result]) -> str:
    header = f"{'scenario':<36} {'in-flight':>9} {'req/s':>9} {'p50 ms':>8} " \
             f"{'p99 ms':>8} {'mean ms':>8} {'errors':>7} {'py cpu':>7} {'others':>7} {'all':>5}"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(f"{r.scenario:<36} {r.in_flight:>9} {r.rps:>9.0f} {_ms(r.p50_ms):>8} "
                     f"{_ms(r.p99_ms):>8} {_ms(r.mean_ms):>8} {r.errors:>7} "
                     f"{_pct(r.subject_cpu_pct):>7} {_pct(r.other_cpu_pct):>7} "
                     f"{_pct(r.machine_cpu_pct):>5}")
    lines.append("CPU, % of one core: py cpu = the Python process doing the work (server,"
                 " or the bench for Python direct); others = unrelated processes;"
                 " all = whole machine")
    notes = [f"  {r.scenario} @{r.in_flight}: {r.note}" for r in results if r.note]
    if notes:
        lines += ["notes:", *notes]
    return "\n".join(lines)


def _find(results: list[Result], scenario: str, in_flight: int) -> Result | None:
    for r in results:
        if r.scenario == scenario and r.in_flight == in_flight:
            return r
    return None


def ratios(results: list[Result], levels: list[int]) -> dict:
    """Credits Deduct throughput as a fraction of each baseline's, per concurrency."""
    found: dict = {}
    for level in levels:
        credits = _find(results, CREDITS, level)
        for baseline in BASELINES:
            other = _find(results, baseline, level)
            if credits and other and other.rps > 0:
                found.setdefault(str(level), {})[baseline] = credits.rps / other.rps
    return found


def p99_verdict(results: list[Result]) -> dict:
    credits = _find(results, CREDITS, P99_TARGET_IN_FLIGHT)
    p99 = credits.p99_ms if credits else None
    return {"in_flight": P99_TARGET_IN_FLIGHT, "target_ms": P99_TARGET_MS, "p99_ms": p99,
            "met": p99 is not None and p99 <= P99_TARGET_MS}


def ratio_lines(found: dict, verdict: dict) -> str:
    lines = ["credits Deduct throughput / baseline throughput:"]
    for level, by_baseline in found.items():
        parts = [f"{name}: {value:.2f}x" for name, value in by_baseline.items()]
        lines.append(f"  {level:>3} in flight  " + "  |  ".join(parts))
    state = "MET" if verdict["met"] else "NOT MET"
    lines.append(f"p99 at {verdict['in_flight']} in flight <= {verdict['target_ms']:.0f} ms: "
                 f"{state} (p99 = {_ms(verdict['p99_ms'])} ms)")
    return "\n".join(lines)


def write_json(directory: Path, header: dict, results: list[Result], found: dict,
               verdict: dict, checks: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"credits-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({
        "machine": header,
        "results": [asdict(r) for r in results],
        "throughput_ratios": found,
        "p99_target": verdict,
        "ledger_checks": checks,
    }, indent=2))
    return path
