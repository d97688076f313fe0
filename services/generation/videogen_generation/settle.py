"""What a finished generation still owes: its hold captured (a delivered video) or
released (anything else), once; a charge from before holds refunded; our video copy."""

from __future__ import annotations

import logging

from videogen_common.errors import InDebt, InsufficientCredits

from .credits_client import (
    CreditsClient,
    HoldResult,
    RefundResult,
)
from .domain import COPY_ATTEMPTS_MAX, Generation, Settlement, owes_copy, settlement_due
from .metrics import COPIES_LOST, UNPAID_DELIVERIES
from .output_fetch import FetchError, OutputRefused
from .repository import GenerationRepository
from .storage import StorageError

log = logging.getLogger(__name__)
STEPS_MAX = 3  # ask again -> capture or release: the longest chain


class Settler:
    def __init__(
        self,
        repo: GenerationRepository,
        credits: CreditsClient,
        storage,
        hold_timeout_s: int = 3 * 3600,
    ) -> None:
        self.repo, self.credits, self.storage = repo, credits, storage
        self.hold_timeout_s = hold_timeout_s

    async def settle(self, gen: Generation) -> Generation:
        for _ in range(STEPS_MAX):
            due = settlement_due(gen)
            if due is Settlement.NOTHING:
                break
            gen = await self._settle_money(gen, due)
        if owes_copy(gen):
            gen = await self._copy(gen)
        return gen

    async def _settle_money(self, gen: Generation, due: Settlement) -> Generation:
        if due is Settlement.ASK_AGAIN:
            # Whether the hold was made is unknown: the same keyed Reserve tells (and
            # makes it if it was not, to be captured or released at once).
            try:
                held = await self.credits.reserve(gen, self.hold_timeout_s)
            except (InsufficientCredits, InDebt):
                return await self.repo.mark_never_charged(gen.id) or gen
            if not held:  # charged the old way, before holds
                return await self.repo.mark_charged(gen.id) or gen
            return await self.repo.mark_reserved(gen.id) or gen
        if due is Settlement.RELEASE:
            result = await self.credits.release(gen, gen.error or gen.status.value)
            if result is HoldResult.CAPTURED:  # cannot happen by our own hand
                log.error("a failed generation's hold was captured", extra={"generation": gen.id})
            return await self.repo.mark_released(gen.id) or gen
        if due is Settlement.CAPTURE:
            result = await self.credits.capture(gen)
            if result is HoldResult.DONE:
                return await self.repo.mark_captured(gen.id) or gen
            return await self._charge_instead(gen)
        refunded = await self.credits.refund(gen, gen.error or gen.status.value)
        return await self.repo.mark_refunded(gen.id, refunded is RefundResult.REFUNDED) or gen

    async def _charge_instead(self, gen: Generation) -> Generation:
        """The hold is gone (it timed out under a job that ran long): charge at once."""
        try:
            await self.credits.charge(gen)
        except (InsufficientCredits, InDebt):
            UNPAID_DELIVERIES.inc()
            log.error("a delivered video could not be charged", extra={"generation": gen.id})
            return await self.repo.mark_unpaid(gen.id) or gen
        return await self.repo.mark_charged(gen.id) or gen

    async def _copy(self, gen: Generation) -> Generation:
        """Replicate deletes outputs after about an hour: copy while we can, a bounded
        number of times; then keep its URL and mark the copy lost rather than retry forever."""
        assert gen.output_url
        try:
            url = await self.storage.copy_video(gen.id, gen.output_url)
        except OutputRefused as error:
            # Not from where outputs come from: never fetched, never shown to the user.
            log.error("output refused", extra={"generation": gen.id, "error": str(error)})
            COPIES_LOST.inc()
            return await self.repo.copy_refused(gen.id) or gen
        except (StorageError, FetchError) as error:
            log.warning("output copy failed", extra={"generation": gen.id, "error": str(error)})
            failed = await self.repo.copy_failed(gen.id, COPY_ATTEMPTS_MAX)
            if failed is not None and failed.copy_lost:
                COPIES_LOST.inc()
                log.error(
                    "output copy given up; the provider's URL is kept", extra={"generation": gen.id}
                )
            return failed or gen
        return await self.repo.store_video(gen.id, url) or gen
