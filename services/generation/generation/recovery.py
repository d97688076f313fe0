"""Finishing what was left between steps: after a crash, a lost webhook or an outage.

Each pass leases a bounded number of rows per kind of unfinished work (SKIP LOCKED, so
replicas never take the same row), then does the work with no lock held.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from videogen_common.errors import ServiceError

from .flow import GenerationFlow
from .provider import ProviderUnavailable
from .records import Generation, ProviderNews
from .rules import Status

log = logging.getLogger(__name__)

POLL_BACKOFF_MAX = timedelta(minutes=5)


@dataclass(frozen=True)
class RecoveryConfig:
    interval_s: float
    batch_max: int
    # Not charged and not submitted after this long: give up rather than start it late.
    submit_within: timedelta
    # Running longer than this: cancel at the provider, time out, refund.
    age_max: timedelta
    poll_after: timedelta


class Recovery:
    def __init__(self, flow: GenerationFlow, config: RecoveryConfig) -> None:
        self.flow = flow
        self.repo = flow.repo
        self.config = config

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # one bad pass must not stop recovery for good
                log.exception("recovery pass failed")
            await asyncio.sleep(self.config.interval_s)

    async def run_once(self) -> int:
        """One pass over every kind of unfinished work; returns how many rows it took."""
        n, c = self.config.batch_max, self.config
        steps = (
            ("status = 'queued' AND charge = 'pending'", self._charge),
            ("status IN ('queued', 'starting', 'processing') AND charge = 'charged'"
             " AND prediction_id IS NULL", self._find_or_submit),
            ("status IN ('starting', 'processing') AND prediction_id IS NOT NULL"
             " AND (next_poll_at <= now() OR created_at < now() - :age)", self._poll),
            ("(charge IN ('pending', 'charged') AND status IN ('failed', 'canceled',"
             " 'timed_out')) OR (status = 'succeeded' AND video_url IS NULL)", self._settle),
        )
        taken = 0
        for condition, step in steps:
            for gen in await self.repo.claim(condition, n, age=c.age_max):
                taken += 1
                try:
                    await step(gen)
                except ServiceError as error:
                    log.warning("recovery step postponed",
                                extra={"generation": gen.id, "error": error.message})
                finally:
                    await self.repo.update(gen.id, "lease_until = NULL")
        return taken

    def _too_old_to_start(self, gen: Generation) -> bool:
        return datetime.now(timezone.utc) - gen.created_at > self.config.submit_within

    async def _charge(self, gen: Generation) -> None:
        if self._too_old_to_start(gen):
            await self._fail(gen, "not started in time")
            return
        await self.flow.charge_and_submit(gen)

    async def _find_or_submit(self, gen: Generation) -> None:
        try:
            found = await self.flow.provider.find_by_webhook(self.flow.webhook_url(gen.id))
        except ProviderUnavailable:
            return  # try again on the next pass
        if found is not None:
            await self.flow.store_prediction(gen, found)
        elif self._too_old_to_start(gen):
            await self._fail(gen, "not submitted in time")
        else:
            await self.flow.submit(gen)

    async def _poll(self, gen: Generation) -> None:
        if datetime.now(timezone.utc) - gen.created_at > self.config.age_max:
            await self._time_out(gen)
            return
        try:
            data = await self.flow.provider.get(gen.prediction_id or "")
        except ProviderUnavailable:
            await self._back_off(gen)
            return
        _, changed = await self.flow.apply_news(gen, ProviderNews.from_json(data))
        if not changed:
            await self._back_off(gen)

    async def _back_off(self, gen: Generation) -> None:
        # No news: poll less and less often, up to a bound, until the age limit.
        await self.repo.update(
            gen.id, "poll_attempts = poll_attempts + 1, next_poll_at = now() + least("
            ":base * power(2, poll_attempts), :cap)",
            base=self.config.poll_after, cap=POLL_BACKOFF_MAX)

    async def _time_out(self, gen: Generation) -> None:
        try:
            await self.flow.provider.cancel(gen.prediction_id or "")
        except ProviderUnavailable:
            log.warning("cancel at timeout failed", extra={"generation": gen.id})
        ended = await self.repo.update(
            gen.id, "status = 'timed_out', error = 'no result in time', completed_at = now()",
            "status IN ('queued', 'starting', 'processing')")
        if ended is not None:
            await self.flow.settle(ended)

    async def _fail(self, gen: Generation, why: str) -> None:
        ended = await self.repo.update(
            gen.id, "status = :s, error = :e, completed_at = now()",
            "status IN ('queued', 'starting', 'processing')", s=Status.FAILED.value, e=why)
        if ended is not None:
            await self.flow.settle(ended)

    async def _settle(self, gen: Generation) -> None:
        await self.flow.settle(gen)
