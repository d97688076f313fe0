"""Seeded faults, one every few seconds, several at once: SIGKILL of a service (restarted
after a short delay), PostgreSQL crash-restarts, cut database connections, and the
provider misbehaving (errors before and after recording a create, slow creates, failing
lookups, lost jobs; webhooks dropped, tripled, reordered, late, replayed stale)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter

import aiohttp

from .stack import Stack

log = logging.getLogger("soak.faults")
KILLABLE = (
    "credits-1",
    "credits-2",
    "generation-1",
    "generation-2",
    "webhook-gateway",
    "api-gateway",
)
# Provider faults: (name, knobs for a while, knobs after).
PROVIDER_FAULTS = (
    (
        "create_500_before_record",
        {"create_error_count": 2, "create_error_status": 500},
        {"create_error_count": 0},
    ),
    (
        "create_503",
        {"create_error_count": 2, "create_error_status": 503, "create_retry_after_s": 0},
        {"create_error_count": 0},
    ),
    (
        "create_500_after_record",
        {"create_error_after_record_count": 2, "create_error_status": 500},
        {"create_error_after_record_count": 0},
    ),
    ("slow_create_answer", {"create_delay_s": 3.0}, {"create_delay_s": 0.0}),
    ("slow_create_record", {"create_record_delay_s": 2.5}, {"create_record_delay_s": 0.0}),
    ("lookup_errors", {"list_error_count": 3}, {"list_error_count": 0}),
    ("lost_jobs", {"lose_rate": 0.3}, {"lose_rate": 0.0}),
    ("webhooks_dropped", {"webhook_drop_rate": 0.6}, {"webhook_drop_rate": 0.0}),
    ("webhooks_tripled", {"webhook_duplicates": 2}, {"webhook_duplicates": 0}),
    ("webhooks_reordered", {"webhook_reorder": True}, {"webhook_reorder": False}),
    ("webhooks_late", {"webhook_delay_s": 4.0}, {"webhook_delay_s": 0.0}),
    ("webhooks_replayed_stale", {"webhook_replay_rate": 0.5}, {"webhook_replay_rate": 0.0}),
)


class Faults:
    def __init__(self, stack: Stack, seed: int) -> None:
        self.stack = stack
        self.rng = random.Random(seed * 7919 + 1)
        self.counts: Counter = Counter()
        self._tasks: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), self.rng.uniform(1.5, 4.0))
                except TimeoutError:
                    pass
                if stop.is_set():
                    break
                kind = self.rng.choices(("kill", "provider", "cut", "pg_restart"), (45, 40, 10, 5))[
                    0
                ]
                self._spawn(getattr(self, f"_{kind}")(session))
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _kill(self, session) -> None:
        name = self.rng.choice(KILLABLE)
        service = self.stack.services[name]
        if not service.running:
            return
        self.counts[f"kill {name}"] += 1
        kills = self.counts[f"kill {name}"]
        log.info("kill -9 %s", name)
        await service.kill()
        await asyncio.sleep(self.rng.uniform(0.3, 3.0))
        try:
            await service.start()
        except RuntimeError:
            if self.counts[f"kill {name}"] == kills:
                log.exception("%s did not come back", name)  # died on its own: a defect
            else:  # killed again while starting, as a crash may come: that kill restarts it
                log.info("%s killed again while starting", name)

    async def _cut(self, session) -> None:
        self.counts["db connections cut"] += 1
        await self.stack.db_proxy.cut()
        await asyncio.sleep(self.rng.uniform(0.5, 3.0))
        await self.stack.db_proxy.restore()

    async def _pg_restart(self, session) -> None:
        self.counts["postgres crash-restart"] += 1
        log.info("postgres immediate restart")
        await self.stack.cluster.crash_restart(self.rng.uniform(0.3, 2.0))

    async def _provider(self, session) -> None:
        name, during, after = self.rng.choice(PROVIDER_FAULTS)
        self.counts[name] += 1
        await self._emulator(session, during)
        await asyncio.sleep(self.rng.uniform(3.0, 8.0))
        await self._emulator(session, after)

    async def _emulator(self, session: aiohttp.ClientSession, knobs: dict) -> None:
        async with session.post(
            f"{self.stack.emulator_url}/_emulator/config", json=knobs
        ) as response:
            response.raise_for_status()

    async def calm(self) -> None:
        """Every provider knob back to normal, for the recovery window."""
        knobs: dict = {}
        for _, _, after in PROVIDER_FAULTS:
            knobs.update(after)
        async with aiohttp.ClientSession() as session:
            await self._emulator(session, knobs)
        await self.stack.db_proxy.restore()
        for service in self.stack.services.values():
            if not service.running:
                await service.start()

    @property
    def total(self) -> int:
        return sum(self.counts.values())
