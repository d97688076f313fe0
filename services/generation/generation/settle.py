"""What a terminal generation still owes: its refund, once, or our copy of its video."""
from __future__ import annotations

import logging

from .credits_client import CreditsClient, InsufficientCredits, RefundResult
from .metrics import COPIES_LOST
from .records import Generation
from .repository import GenerationRepository
from .states import COPY_ATTEMPTS_MAX, Charge, owes_copy, owes_refund
from .storage import StorageError

log = logging.getLogger(__name__)


class Settler:
    def __init__(self, repo: GenerationRepository, credits: CreditsClient, storage) -> None:
        self.repo, self.credits, self.storage = repo, credits, storage

    async def settle(self, gen: Generation) -> Generation:
        if owes_refund(gen):
            gen = await self._refund(gen)
        if owes_copy(gen):
            gen = await self._copy(gen)
        return gen

    async def _refund(self, gen: Generation) -> Generation:
        if gen.charge is Charge.PENDING:
            # Whether the charge landed is unknown: the same keyed Deduct tells.
            try:
                await self.credits.charge(gen)
            except InsufficientCredits:
                return await self.repo.mark_never_charged(gen.id) or gen
            gen = await self.repo.mark_charged(gen.id) or gen
        result = await self.credits.refund(gen, gen.error or gen.status.value)
        return await self.repo.mark_refunded(gen.id, result is RefundResult.REFUNDED) or gen

    async def _copy(self, gen: Generation) -> Generation:
        """Replicate deletes outputs after about an hour: copy while we can, a bounded
        number of times; then keep its URL and mark the copy lost rather than retry forever."""
        assert gen.output_url
        try:
            url = await self.storage.copy_video(gen.id, gen.output_url)
        except StorageError as error:
            log.warning("output copy failed", extra={"generation": gen.id, "error": str(error)})
            failed = await self.repo.copy_failed(gen.id, COPY_ATTEMPTS_MAX)
            if failed is not None and failed.copy_lost:
                COPIES_LOST.inc()
                log.error("output copy given up; the provider's URL is kept",
                          extra={"generation": gen.id})
            return failed or gen
        return await self.repo.store_video(gen.id, url) or gen
