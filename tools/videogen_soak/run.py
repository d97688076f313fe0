"""One soak run: start the stack, drive it under faults, let it recover, audit it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from .audit import audit, settled, snapshot
from .faults import Faults
from .stack import Stack
from .workload import Workload

log = logging.getLogger("soak")


async def _wait_settled(stack: Stack, window_s: float):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + window_s
    while True:
        snap = await snapshot(stack.cluster.url, stack.emulator_url)
        if settled(snap) or loop.time() > deadline:
            return snap
        await asyncio.sleep(1.0)


async def soak(directory: Path, seconds: float, seed: int, users: int, recovery_s: float) -> int:
    stack = Stack(directory, seed)
    began = time.monotonic()
    try:
        await stack.start()
        log.info("stack up in %.1f s; driving for %.0f s", time.monotonic() - began, seconds)
        faults = Faults(stack, seed)
        async with Workload(
            stack.api_url,
            stack.webhooks_url,
            stack.secrets.jwt,
            stack.secrets.stripe_webhook,
            seed,
            users,
        ) as work:
            stop = asyncio.Event()
            drivers = [asyncio.create_task(work.run_user(i, stop)) for i in range(users)]
            faulting = asyncio.create_task(faults.run(stop))
            await asyncio.sleep(seconds)
            stop.set()
            await asyncio.gather(faulting, *drivers)
            await faults.calm()
            await work.finish_unacknowledged()
            snap = await _wait_settled(stack, recovery_s)
            records = work.records
        violations = audit(snap, records)
    finally:
        await stack.stop()
    report = {
        "seed": seed,
        "seconds": seconds,
        "requests": records.requests,
        "statuses": {str(k): v for k, v in sorted(records.statuses.items(), key=str)},
        "faults": dict(faults.counts),
        "generations": len(snap.generations),
        "by_status": _by_status(snap),
        "jobs_at_provider": len(snap.predictions),
        "violations": violations,
        "restarts": {n: s.starts - 1 for n, s in stack.services.items()},
        "error_lines": {n: _errors(s.log_path) for n, s in stack.services.items()},
        "stale_replays_refused": sum(
            1
            for p in snap.predictions
            for d in p.get("deliveries", [])
            if d["outcome"] == "replayed_stale" and d["http_status"] == 401
        ),
    }
    (directory / "report.json").write_text(json.dumps(report, indent=2))
    for line in violations[:50]:
        print(f"violation: {line}")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(faults.counts.items()))
    print(
        f"soak: seed {seed}, {records.requests} requests, {faults.total} faults ({kinds}), "
        f"{len(snap.generations)} generations, {len(violations)} violations"
    )
    print(f"soak: logs and report in {directory}")
    return 1 if violations else 0


def _by_status(snap) -> dict[str, int]:
    counts: dict[str, int] = {}
    for gen in snap.generations.values():
        counts[gen["status"]] = counts.get(gen["status"], 0) + 1
    return dict(sorted(counts.items()))


def _errors(log_path: Path) -> int:
    """ERROR lines a service logged (its JSON logs): each is worth a look."""
    if not log_path.exists():
        return 0
    with open(log_path, errors="replace") as log:
        return sum(1 for line in log if '"level": "ERROR"' in line)
