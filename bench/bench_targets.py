"""Each hot path's target against its framework's own limit, from one run's results.

A target compares two numbers of the same run (never a number from another machine or
day): the service beside its no-op twin, the gateway beside a no-op aiohttp handler,
CreateGeneration beside Deduct, a long history beside a short one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bench_footprint import RSS_IDLE_TARGET_MB
from bench_report import CREDITS, GENERATION, NOOP, WEBHOOK_ACK, WEBHOOK_NOOP, Result, find


@dataclass
class Target:
    name: str
    value: float | None
    target: str  # e.g. ">= 0.70x"
    met: bool | None  # None: not measured in this run


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _at_least(name: str, value: float | None, bound: float) -> Target:
    return Target(name, value, f">= {bound:.2f}x", None if value is None else value >= bound)


def _at_most(name: str, value: float | None, bound: float, unit: str = "x") -> Target:
    shown = f"<= {bound:.2f}x" if unit == "x" else f"<= {bound:.0f} {unit}"
    return Target(name, value, shown, None if value is None else value <= bound)


def targets(
    results: list[Result], checks: dict, generation_level: int, webhook_level: int
) -> list[Target]:
    deduct, noop = find(results, CREDITS, 64), find(results, NOOP, 64)
    found = [
        _at_least(
            "Deduct @64 throughput / no-op gRPC server's",
            _ratio(deduct and deduct.rps, noop and noop.rps),
            0.7,
        ),
        _at_most(
            "Deduct @64 p99 / no-op gRPC server's",
            _ratio(deduct and deduct.p99_ms, noop and noop.p99_ms),
            1.5,
        ),
    ]
    ack, handler = (
        find(results, WEBHOOK_ACK, webhook_level),
        find(results, WEBHOOK_NOOP, webhook_level),
    )
    found.append(
        _at_least(
            f"webhook gateway @{webhook_level} throughput / no-op aiohttp handler's",
            _ratio(ack and ack.rps, handler and handler.rps),
            0.5,
        )
    )
    create = find(results, GENERATION, generation_level)
    reference = find(results, CREDITS, generation_level)
    found += [
        _at_least(
            f"CreateGeneration @{generation_level} throughput / Deduct's",
            _ratio(create and create.rps, reference and reference.rps),
            0.3,
        ),
        _at_most(
            f"CreateGeneration @{generation_level} p99",
            create.p99_ms if create else None,
            100.0,
            "ms",
        ),
    ]
    history = checks.get("history")
    for name, by_size in (history or {}).get("operations", {}).items():
        found.append(_at_most(f"{name} p50, 10^7 / 10^3 entries", by_size["p50_ratio"], 1.5))
    for service, mb in (checks.get("footprint") or {}).items():
        found.append(_at_most(f"{service} RSS idle", mb["idle_mb"], RSS_IDLE_TARGET_MB, "MB"))
        if mb.get("make_run_idle_mb") is not None:
            found.append(
                _at_most(
                    f"{service} RSS idle, make run",
                    mb["make_run_idle_mb"],
                    RSS_IDLE_TARGET_MB,
                    "MB",
                )
            )
    return found


def target_lines(found: list[Target]) -> str:
    lines = ["targets (each against its baseline in this run):"]
    for t in found:
        value = "-" if t.value is None else f"{t.value:.2f}"
        state = "not measured" if t.met is None else "MET" if t.met else "NOT MET"
        lines.append(f"  {t.name:<58} {value:>8}  target {t.target:<10} {state}")
    return "\n".join(lines)


def as_json(found: list[Target]) -> list[dict]:
    return [asdict(t) for t in found]
