"""The sweeps: expired grants taken out, timed-out holds released, each at its own
interval. Safe with many replicas: the database functions skip accounts another
transaction holds, and each grant and hold is settled once."""

from __future__ import annotations

import asyncio
import logging
import time

from videogen_common.db import is_database_outage

from .metrics import SWEPT
from .service import Ledger

log = logging.getLogger(__name__)
SWEEP_BATCH = 500


class Sweeper:
    def __init__(self, ledger: Ledger, expiry_interval_s: float, hold_interval_s: float) -> None:
        self.ledger = ledger
        self._sweeps = (
            ("expire_due", "grant_expired", expiry_interval_s),
            ("release_due_holds", "hold_timed_out", hold_interval_s),
        )

    async def sweep(self, function: str, outcome: str) -> int:
        """Until nothing is due, in bounded batches: how many were settled."""
        done = 0
        while True:
            settled = await self.ledger.sweep(function, SWEEP_BATCH)
            done += settled
            if settled < SWEEP_BATCH:
                SWEPT.labels(outcome).inc(done)
                return done

    async def run_once(self) -> tuple[int, int]:
        return (
            await self.sweep("expire_due", "grant_expired"),
            await self.sweep("release_due_holds", "hold_timed_out"),
        )

    async def run_forever(self) -> None:
        due = {function: 0.0 for function, _, _ in self._sweeps}
        while True:
            for function, outcome, interval_s in self._sweeps:
                if time.monotonic() < due[function]:
                    continue
                due[function] = time.monotonic() + interval_s
                try:
                    await self.sweep(function, outcome)
                except Exception as error:  # the next round tries again
                    if is_database_outage(error):
                        log.warning(
                            "sweep skipped: database unavailable", extra={"sweep": function}
                        )
                    else:
                        log.exception("sweep failed", extra={"sweep": function})
            await asyncio.sleep(max(0.05, min(due.values()) - time.monotonic()))
