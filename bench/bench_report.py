"""Results: one row per (scenario, in-flight), the table, the ratios and the JSON file."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

CREDITS = "credits Deduct (k6)"
CREDITS_BEFORE = "credits Deduct before grants (k6)"
CREDITS_UVLOOP = "credits Deduct, EVENT_LOOP=uvloop (k6)"
GRANTS_RATIO_TARGET = 0.9  # Deduct on grants / Deduct before, same run
GENERATION = "generation CreateGeneration (k6)"
NOOP = "no-op gRPC server (k6)"
PGBENCH = "pgbench seed.deduct_credits"
PGBENCH_HOT = "pgbench, one hot row"
CREDITS_HOT = "credits Deduct, one hot account (k6)"
CREDITS_WORKERS = "credits Deduct, CREDITS_WORKERS=2 (k6)"
DIRECT = "Python direct seed.deduct_credits"
BASELINES = (NOOP, PGBENCH, DIRECT)
P99_TARGET_MS = 20.0
P99_TARGET_IN_FLIGHT = 64
GENERATION_P99_TARGET_MS = 50.0
WEBHOOK_ACK = "(a) webhook gateway, ack upstream"
WEBHOOK_NOOP = "(b) no-op aiohttp handler"
WEBHOOK_REAL = "(c) webhook gateway + generation"
WEBHOOK_RATIO_TARGET = 0.5  # (a) / (b) throughput


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
    # Percent of one core per process of ours (bench_cpu.CpuUse.by_process), when asked.
    cpu_by_process: dict[str, float] | None = None
    subject: str = ""  # what "py cpu" measured, when not "<first word> service"
    applied: int | None = None  # webhooks: 2xx answers whose outcome was "applied"
    # Resident memory of the subject process (and its workers), MB: when the run began,
    # and the most while it ran.
    rss_start_mb: float | None = None
    rss_peak_mb: float | None = None


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
    header = (
        f"{'scenario':<36} {'in-flight':>9} {'req/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'mean ms':>8} {'errors':>7} {'py cpu':>7} {'others':>7} {'all':>5}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.scenario:<36} {r.in_flight:>9} {r.rps:>9.0f} {_ms(r.p50_ms):>8} "
            f"{_ms(r.p99_ms):>8} {_ms(r.mean_ms):>8} {r.errors:>7} "
            f"{_pct(r.subject_cpu_pct):>7} {_pct(r.other_cpu_pct):>7} "
            f"{_pct(r.machine_cpu_pct):>5}"
        )
    lines.append(
        "CPU, % of one core: py cpu = the Python process doing the work (server,"
        " or the bench for Python direct); others = unrelated processes;"
        " all = whole machine"
    )
    notes = [f"  {r.scenario} @{r.in_flight}: {r.note}" for r in results if r.note]
    if notes:
        lines += ["notes:", *notes]
    split = [f"  {r.scenario} @{r.in_flight}: {cpu_split(r)}" for r in results if r.cpu_by_process]
    if split:
        lines += ["CPU by process during the run (% of one core):", *split]
    return "\n".join(lines)


def cpu_split(result: Result) -> str:
    """The server under load first, then the processes behind it."""
    subject = result.subject or f"{result.scenario.split()[0]} service"
    parts = [f"{subject} {_pct(result.subject_cpu_pct)}"]
    parts += [f"{name} {pct:.0f}%" for name, pct in (result.cpu_by_process or {}).items()]
    return ", ".join(parts)


def find(results: list[Result], scenario: str, in_flight: int) -> Result | None:
    for r in results:
        if r.scenario == scenario and r.in_flight == in_flight:
            return r
    return None


def ratios(results: list[Result], levels: list[int]) -> dict:
    """Credits Deduct throughput as a fraction of each baseline's, per concurrency."""
    found: dict = {}
    for level in levels:
        credits = find(results, CREDITS, level)
        for baseline in BASELINES:
            other = find(results, baseline, level)
            if credits and other and other.rps > 0:
                found.setdefault(str(level), {})[baseline] = credits.rps / other.rps
    return found


def _numbers(r: Result) -> dict:
    return {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors}


def generation_comparison(results: list[Result], level: int) -> dict | None:
    """CreateGeneration against the Deduct RPC alone at the same concurrency, same run."""
    gen = find(results, GENERATION, level)
    if gen is None:
        return None
    deduct = find(results, CREDITS, level)
    found: dict = {
        "in_flight": level,
        "target_ms": GENERATION_P99_TARGET_MS,
        "p99_ms": gen.p99_ms,
        "met": gen.p99_ms is not None and gen.p99_ms <= GENERATION_P99_TARGET_MS,
        "create_generation": _numbers(gen),
        "deduct": _numbers(deduct) if deduct else None,
    }
    if deduct is not None:
        found["create_over_deduct"] = {
            "throughput": gen.rps / deduct.rps if deduct.rps else None,
            "p50": _over(gen.p50_ms, deduct.p50_ms),
            "p99": _over(gen.p99_ms, deduct.p99_ms),
        }
    return found


def _over(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _row(name: str, n: dict, width: int = 22) -> str:
    return (
        f"  {name:<{width}} {n['rps']:7.0f} req/s  p50 {_ms(n['p50_ms']):>8} ms  "
        f"p99 {_ms(n['p99_ms']):>8} ms"
    )


def generation_lines(found: dict | None) -> str:
    if found is None:
        return "CreateGeneration: not measured (not in --only)"
    level = found["in_flight"]
    lines = [
        f"CreateGeneration beside the Deduct RPC alone, both at {level} in flight:",
        _row("CreateGeneration", found["create_generation"]),
    ]
    if found["deduct"] is not None:
        ratio = found["create_over_deduct"]
        lines += [
            _row("credits Deduct", found["deduct"]),
            f"  CreateGeneration / Deduct: throughput {_x(ratio['throughput'])}, "
            f"p50 {_x(ratio['p50'])}, p99 {_x(ratio['p99'])}",
        ]
    else:
        lines.append(f"  credits Deduct: not measured at {level} in flight (add credits to --only)")
    state = "MET" if found["met"] else "NOT MET"
    lines.append(
        f"CreateGeneration p99 at {level} in flight <= {found['target_ms']:.0f} ms: "
        f"{state} (p99 = {_ms(found['p99_ms'])} ms)"
    )
    return "\n".join(lines)


def p99_verdict(results: list[Result]) -> dict:
    credits = find(results, CREDITS, P99_TARGET_IN_FLIGHT)
    p99 = credits.p99_ms if credits else None
    return {
        "in_flight": P99_TARGET_IN_FLIGHT,
        "target_ms": P99_TARGET_MS,
        "p99_ms": p99,
        "met": p99 is not None and p99 <= P99_TARGET_MS,
    }


def ratio_lines(found: dict, verdict: dict) -> str:
    if not found and verdict["p99_ms"] is None:
        return "credits Deduct against the baselines: not measured (not in --only)"
    lines = ["credits Deduct throughput / baseline throughput:"]
    for level, by_baseline in found.items():
        parts = [f"{name}: {value:.2f}x" for name, value in by_baseline.items()]
        lines.append(f"  {level:>3} in flight  " + "  |  ".join(parts))
    if not found:
        lines.append("  (not measured: needs credits and a baseline at the same concurrency)")
    state = "MET" if verdict["met"] else "NOT MET"
    if verdict["p99_ms"] is None:
        state = "not measured"
    lines.append(
        f"p99 at {verdict['in_flight']} in flight <= {verdict['target_ms']:.0f} ms: "
        f"{state} (p99 = {_ms(verdict['p99_ms'])} ms)"
    )
    return "\n".join(lines)


def webhook_comparison(results: list[Result], level: int) -> dict | None:
    """(a) the gateway's own cost and (c) end to end, against (b) the no-op handler."""
    ack, noop, real = (
        find(results, name, level) for name in (WEBHOOK_ACK, WEBHOOK_NOOP, WEBHOOK_REAL)
    )
    if ack is None and noop is None and real is None:
        return None
    found: dict = {
        "in_flight": level,
        "target": WEBHOOK_RATIO_TARGET,
        "a": ack and _numbers(ack),
        "b": noop and _numbers(noop),
        "c": real and _numbers(real),
    }
    found["a_over_b"] = ack.rps / noop.rps if ack and noop and noop.rps else None
    found["c_over_a"] = real.rps / ack.rps if real and ack and ack.rps else None
    found["met"] = found["a_over_b"] is not None and found["a_over_b"] >= WEBHOOK_RATIO_TARGET
    return found


def webhook_lines(found: dict | None, checks: dict) -> str:
    if found is None:
        return "webhooks: not measured (not in --only)"
    lines = [
        f"webhooks at {found['in_flight']} in flight (k6 over HTTP; each request a new "
        "webhook-id, signed in k6 with a current timestamp):"
    ]
    for key, name in (("a", WEBHOOK_ACK), ("b", WEBHOOK_NOOP), ("c", WEBHOOK_REAL)):
        if found[key]:
            lines.append(f"{_row(name, found[key], 34)}  {found[key]['errors']} errors")
    ratio = found["a_over_b"]
    state = "MET" if found["met"] else "NOT MET" if ratio is not None else "not measured"
    lines.append(f"  (a)/(b) throughput: {_x(ratio)}; target >= {found['target']}: {state}")
    if found["c_over_a"] is not None:
        lines.append(f"  (c)/(a) throughput: {_x(found['c_over_a'])}")
    for key, text in (checks.get("webhook_preflight") or {}).items():
        lines.append(f"  preflight ({key}): {text}")
    after = checks.get("webhook_targets_after")
    if after is not None:
        states = ", ".join(
            f"{n['rows']} {s} (progress {n['progress_min']}-"
            f"{n['progress_max']}%, logs up to {n['logs_chars_max']} chars)"
            for s, n in after.items()
        )
        lines.append(
            f"  (c) named {checks.get('webhook_targets')} real generations created "
            f"through CreateGeneration (emulator paused, its webhooks dropped); "
            f"{checks.get('webhook_c_applied')} of {checks.get('webhook_c_requests')}"
            f" measured webhooks were applied; afterwards: {states}"
        )
    return "\n".join(lines)


def write_json(
    directory: Path,
    header: dict,
    results: list[Result],
    found: dict,
    verdict: dict,
    checks: dict,
    generation: dict | None = None,
    webhooks: dict | None = None,
    targets: list[dict] | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"credits-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(
        json.dumps(
            {
                "machine": header,
                "results": [asdict(r) for r in results],
                "throughput_ratios": found,
                "p99_target": verdict,
                "generation": generation,
                "webhooks": webhooks,
                "targets": targets,
                "ledger_checks": checks,
            },
            indent=2,
        )
    )
    return path


def before_lines(results: list[Result], levels: list[int]) -> str:
    """Deduct today beside Deduct before grants and holds, at each load."""
    out = []
    for level in levels:
        now, before = find(results, CREDITS, level), find(results, CREDITS_BEFORE, level)
        if now is None or before is None or not before.rps:
            continue
        ratio = now.rps / before.rps
        verdict = "met" if ratio >= GRANTS_RATIO_TARGET else "NOT met"
        out.append(
            f"  Deduct on grants / before grants @{level}: {ratio:.2f}x "
            f"({now.rps:.0f} vs {before.rps:.0f} req/s; p99 {now.p99_ms or 0:.1f} vs "
            f"{before.p99_ms or 0:.1f} ms; target >= {GRANTS_RATIO_TARGET}: {verdict})"
        )
    return "\n".join(out)


def cpu_ms_per_request(r: Result) -> float | None:
    """Milliseconds of the service's CPU per request: its share of a core over req/s."""
    if not r.rps or r.subject_cpu_pct is None:
        return None
    return r.subject_cpu_pct * 10.0 / r.rps


def loop_lines(results: list[Result], levels: list[int]) -> str:
    """Deduct with uvloop beside Deduct on asyncio's own loop, same run, same database."""
    out = []
    for level in levels:
        plain, uv = find(results, CREDITS, level), find(results, CREDITS_UVLOOP, level)
        if plain is None or uv is None or not plain.rps:
            continue
        cpu_plain, cpu_uv = cpu_ms_per_request(plain), cpu_ms_per_request(uv)
        cpu = (
            f"; CPU per request {cpu_uv:.2f} vs {cpu_plain:.2f} ms"
            if cpu_plain is not None and cpu_uv is not None
            else ""
        )
        out.append(
            f"  Deduct uvloop / asyncio @{level}: {uv.rps / plain.rps:.2f}x "
            f"({uv.rps:.0f} vs {plain.rps:.0f} req/s; p99 {uv.p99_ms or 0:.1f} vs "
            f"{plain.p99_ms or 0:.1f} ms{cpu})"
        )
    return "\n".join(out)
