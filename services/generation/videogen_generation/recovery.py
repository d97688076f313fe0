"""Finishing what was left between steps: after a crash, a lost webhook or an outage.

Each pass takes every kind of unfinished work in turn (Step), each with its own budget,
so no kind waits behind another. Rows are leased one at a time (SKIP LOCKED, so replicas
never take the same row) and the work runs with no lock held. Each row fails alone: an
error of any kind is logged, counted, and pushes that row back, and the pass goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from videogen_common.db import is_database_outage

from .domain import Generation, PollVerdict, ProviderNews, Status, Step, judge_poll
from .events import EventLog
from .metrics import FINISHED, OPEN_OLDEST, RECOVERY_ACTIONS
from .provider import PredictionMissing, ProviderUnavailable
from .repository import Lease
from .service import GenerationFlow

log = logging.getLogger(__name__)

# Settlements first: money owed is never held up by work that cannot progress.
STEP_ORDER = (Step.SETTLE, Step.CHARGE, Step.SUBMIT, Step.POLL, Step.COPY)


@dataclass(frozen=True)
class RecoveryConfig:
    interval_s: float
    batch_max: int
    # Not charged and not submitted after this long: give up rather than start it late.
    submit_within: timedelta
    # Running longer than this: cancel at the provider, time out, refund.
    age_max: timedelta
    poll_after: timedelta
    poll_backoff_max: timedelta = timedelta(minutes=5)
    # Watchers' event log entries older than this are forgotten.
    events_keep: timedelta = timedelta(days=1)


class Recovery:
    def __init__(self, flow: GenerationFlow, events: EventLog, config: RecoveryConfig) -> None:
        self.flow = flow
        self.events = events
        self.repo = flow.repo
        self.config = config
        self._steps: dict[Step, Callable[[Generation, Lease], Awaitable[None]]] = {
            Step.SETTLE: self._settle,
            Step.CHARGE: self._charge,
            Step.SUBMIT: self._find_or_submit,
            Step.POLL: self._poll,
            Step.COPY: self._settle,
        }

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as error:  # try the next pass
                if is_database_outage(error):
                    log.warning("recovery pass stopped: database unavailable")
                else:
                    log.exception("recovery pass failed")
            await asyncio.sleep(self.config.interval_s)

    async def run_once(self) -> int:
        """One pass over every kind of unfinished work; returns how many rows it took."""
        taken = 0
        for step in STEP_ORDER:
            worked: list[str] = []
            for _ in range(self.config.batch_max):
                claimed = await self.repo.claim_next(step, worked)
                if claimed is None:
                    break
                taken += 1
                worked.append(claimed[0].id)
                await self._work(step, *claimed)
        await self.events.prune(self.config.events_keep)
        OPEN_OLDEST.set(await self.repo.oldest_open_age_s())
        return taken

    async def _work(self, step: Step, gen: Generation, lease: Lease) -> None:
        failed = False
        try:
            await self._steps[step](gen, lease)
        except Exception as error:  # each row fails alone; the pass goes on
            failed = True
            RECOVERY_ACTIONS.labels(step.value, "error").inc()
            log.warning(
                "recovery step failed; the row is retried later",
                extra={
                    "generation": gen.id,
                    "step": step.value,
                    "error": f"{type(error).__name__}: {error}"[:500],
                },
            )
        else:
            RECOVERY_ACTIONS.labels(step.value, "ok").inc()
        try:
            await self.repo.release(
                lease, failed=failed, backoff_base=timedelta(seconds=self.config.interval_s)
            )
        except Exception:  # the lease simply runs out
            log.warning("lease release failed", extra={"generation": gen.id})

    def _age(self, gen: Generation) -> timedelta:
        return datetime.now(UTC) - gen.created_at

    async def _charge(self, gen: Generation, lease: Lease) -> None:
        if self._age(gen) > self.config.submit_within:
            await self._end(gen, Status.FAILED, "not started in time")
            return
        await self.flow.reserve_and_submit(gen, lease)

    async def _find_or_submit(self, gen: Generation, lease: Lease) -> None:
        """The job may exist already (a crash after submitting, an answer lost): look
        first. Only a lookup that answered may lead to a new create."""
        found = await self.flow.provider.find_by_webhook(
            self.flow.webhook_url(gen.id), gen.created_at
        )
        if found:
            await self.flow.adopt_found(gen, found)
        elif self._age(gen) <= self.config.submit_within:
            await self.flow.submit(gen, lease)
        elif wait := await self.repo.unknown_create_wait(gen.id, self.flow.config.create_settle):
            await self.repo.defer(lease, wait)  # its last create may still land: not yet
        else:
            await self._end(gen, Status.FAILED, "not submitted in time")

    async def _poll(self, gen: Generation, lease: Lease) -> None:
        assert gen.prediction_id
        news, missing = None, False
        try:
            news = ProviderNews.from_json(await self.flow.provider.get(gen.prediction_id))
        except PredictionMissing:
            missing = True
        except ProviderUnavailable as error:
            log.info("poll failed", extra={"generation": gen.id, "error": str(error)})
        verdict = judge_poll(
            gen, news, missing=missing, age=self._age(gen), age_max=self.config.age_max
        )
        if verdict is PollVerdict.APPLY:
            assert news is not None
            await self.flow.apply_news(gen, news)
        elif verdict is PollVerdict.BACK_OFF:
            await self.repo.back_off_poll(
                gen.id, self.config.poll_after, self.config.poll_backoff_max, missing
            )
        elif verdict is PollVerdict.LOST:
            await self._end(gen, Status.FAILED, "the provider no longer knows this job")
        else:
            await self._time_out(gen)

    async def _time_out(self, gen: Generation) -> None:
        assert gen.prediction_id
        answer = None
        try:
            answer = await self.flow.provider.cancel(gen.prediction_id)
        except ProviderUnavailable:
            log.warning("cancel at timeout failed", extra={"generation": gen.id})
        if answer is not None and answer.get("status") == "succeeded":
            await self.flow.apply_news(gen, ProviderNews.from_json(answer))  # it made it
            return
        await self._end(gen, Status.TIMED_OUT, "no result in time")

    async def _end(self, gen: Generation, status: Status, why: str) -> None:
        ended = await self.repo.end(gen.id, status, why)
        if ended is not None:
            FINISHED.labels(ended.status.value, ended.model).inc()
        if ended is not None:
            await self.flow.settle(ended)

    async def _settle(self, gen: Generation, lease: Lease) -> None:
        await self.flow.settle(gen)
