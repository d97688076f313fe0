"""The generation's life: reserve, submit, apply news, settle. Never submit without a
hold; capture it for a delivered video, release it otherwise, once.

Only a definite answer ends a generation: a refusal for lack of credits rejects it, the
provider refusing the job fails it. An unknown outcome (credits or the provider did not
answer) leaves it where it is, for recovery to finish.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta

from videogen_common import media_urls
from videogen_common.contract import IDEMPOTENCY_KEY_LENGTH_MAX
from videogen_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InDebt,
    InsufficientCredits,
    InvalidArgument,
    NotFound,
    Unavailable,
)

from .catalog import Catalog, provider_input
from .credits_client import BillingUnavailable, CreditsClient
from .domain import Charge, Generation, ProviderNews, Status, changes_from_news
from .faults import Faults
from .metrics import FINISHED, PROVIDER_DUPLICATES_CANCELED
from .provider import ProviderRefused, ProviderUnavailable, ReplicateProvider
from .repository import GenerationRepository, Lease
from .rules import Request, check_request, image_type
from .settle import Settler
from .storage import StorageError

log = logging.getLogger(__name__)
KEY_LENGTH_MAX = IDEMPOTENCY_KEY_LENGTH_MAX


@dataclass(frozen=True)
class FlowConfig:
    webhook_base_url: str
    poll_after: timedelta
    create_attempts_max: int = 4
    create_backoff_s: float = 0.5
    # How long after its sending a create whose answer was lost may still land: no other
    # is sent before this has passed and a lookup made after it found nothing.
    create_settle: timedelta = timedelta(seconds=60)
    # How long credits keep a generation's hold before releasing it on their own.
    hold_timeout_s: int = 3 * 3600


class IdempotencyKeyReused(AlreadyExists):
    reason = "IDEMPOTENCY_KEY_REUSED"


class ProviderFailed(Unavailable):
    reason = "PROVIDER_UNAVAILABLE"


def fingerprint(request: Request, retry_of: str | None) -> str:
    image = hashlib.sha256(request.image_bytes).hexdigest() if request.image_bytes else ""
    parts = (
        request.model,
        request.resolution,
        request.prompt,
        request.negative_prompt,
        str(request.duration_s),
        str(request.seed),
        request.image_url or "",
        image,
        retry_of or "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class GenerationFlow(Settler):
    def __init__(
        self,
        repo: GenerationRepository,
        credits: CreditsClient,
        provider: ReplicateProvider,
        storage,
        catalog: Catalog,
        faults: Faults,
        config: FlowConfig,
    ) -> None:
        super().__init__(repo, credits, storage, config.hold_timeout_s)
        self.provider, self.catalog, self.faults, self.config = provider, catalog, faults, config

    def webhook_url(self, generation_id: str) -> str:
        return (
            f"{self.config.webhook_base_url}/api/webhooks/replicate?generation_id={generation_id}"
        )

    async def create(
        self, request: Request, key: str, retry_of: str | None = None
    ) -> tuple[Generation, bool]:
        if not key.strip() or len(key) > KEY_LENGTH_MAX:
            raise InvalidArgument.of(
                FieldViolation(
                    "idempotency_key", f"is required, at most {KEY_LENGTH_MAX} characters"
                )
            )
        offer, request = check_request(request, self.catalog, self.storage.public_base_url)
        await self._check_own_upload(request)
        generation_id = str(uuid.uuid4())
        image_url = request.image_url
        if request.image_bytes is not None:
            kind = image_type(request.image_bytes)
            assert kind is not None  # checked by check_request
            try:
                image_url = await self.storage.save_image(generation_id, request.image_bytes, kind)
            except StorageError as error:
                raise Unavailable(f"storing the image failed: {error}") from None
        gen, lease = await self.repo.insert_or_get(
            dict(
                id=generation_id,
                user_id=request.user_id,
                idempotency_key=key,
                fingerprint=fingerprint(request, retry_of),
                model=offer.model,
                resolution=offer.resolution,
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                duration_s=request.duration_s,
                seed=request.seed,
                image_url=image_url,
                provider_model=offer.provider_model,
                provider_input=provider_input(
                    offer,
                    request.prompt,
                    request.negative_prompt,
                    request.duration_s,
                    request.seed,
                    # Replicate fetches our uploads through a signed link.
                    self.storage.link(image_url) if image_url else None,
                ),
                price=offer.price,
                retry_of=retry_of,
            )
        )
        if lease is None:
            if request.image_bytes is not None:
                await self.storage.discard(image_url or "")  # the first request kept its own
            return await self._replay(gen, request, retry_of), True
        self.faults.hit("after_insert")
        try:
            return await self.reserve_and_submit(gen, lease), False
        finally:
            await self.repo.release(lease)

    async def _check_own_upload(self, request: Request) -> None:
        """An image URL of ours must name an upload of this user's: ids are unguessable,
        but they are shown in links, and a link may leak."""
        source = media_urls.input_of(request.image_url or "", self.storage.public_base_url)
        if source is None:
            return
        owner = await self.repo.get(source)
        if owner is None or owner.user_id != request.user_id:
            raise InvalidArgument.of(
                FieldViolation("image_url", "must be an image you uploaded, or an https URL")
            )

    async def _replay(self, gen: Generation, request: Request, retry_of: str | None):
        if gen.fingerprint != fingerprint(request, retry_of):
            raise IdempotencyKeyReused("idempotency_key was already used with other parameters")
        if gen.status is Status.REJECTED:
            available, debt = await self.credits.balance(gen.user_id)
            if debt:
                raise InDebt(debt, gen.price)
            raise InsufficientCredits(available, gen.price)
        return gen

    async def reserve_and_submit(self, gen: Generation, lease: Lease) -> Generation:
        """Hold the price, then submit. A refusal rejects; an unknown answer waits for
        recovery."""
        try:
            held = await self.credits.reserve(gen, self.hold_timeout_s)
        except InsufficientCredits:
            await self.repo.reject(gen.id, "insufficient credits")
            FINISHED.labels(Status.REJECTED.value, gen.model).inc()
            raise
        except InDebt:
            await self.repo.reject(gen.id, "the account is in debt")
            FINISHED.labels(Status.REJECTED.value, gen.model).inc()
            raise
        except BillingUnavailable as error:
            log.warning(
                "hold outcome unknown; recovery settles it",
                extra={"generation": gen.id, "error": error.message},
            )
            return gen
        marked = self.repo.mark_reserved(gen.id) if held else self.repo.mark_charged(gen.id)
        gen = await marked or await self.repo.get(gen.id) or gen
        self.faults.hit("after_reserve")
        return await self.submit(gen, lease)

    async def submit(self, gen: Generation, lease: Lease) -> Generation:
        """Create the job, at most once.

        Before each attempt the lease is renewed (so no other replica is submitting), the
        state read again, and the sending noted in the row. Attempts are repeated here
        only after answers that say nothing was recorded (unreachable, throttled). After
        an ambiguous one (a timeout, a 5xx) the provider is searched; when the job is not
        found, the row waits until GENERATION_CREATE_SETTLE_S has passed since that create
        was sent, when one still in the provider's hands has landed, and is searched
        again: only then may another be sent, whichever path or replica comes next.
        """
        config = self.config
        for attempt in range(1, config.create_attempts_max + 1):
            turn = await self.repo.begin_create(lease, config.create_settle)
            if turn is None:
                log.warning("lease lost before submitting", extra={"generation": gen.id})
                return await self.repo.get(gen.id) or gen
            current = turn.generation
            if current.status.terminal or current.prediction_id is not None:
                return await self.settle(current)
            if turn.wait > timedelta(0):
                await self.repo.defer(lease, turn.wait)
                return current  # an earlier create may still land: not before it could
            if turn.after_unknown:
                found = await self._look_up(current)
                if found:
                    return await self.adopt_found(current, found)
                if found is None:
                    await self.repo.defer(lease, config.create_settle)
                    return current  # cannot tell: never taken for "not there"
            try:
                prediction = await self.provider.create(
                    current.provider_model, current.provider_input, self.webhook_url(gen.id)
                )
            except ProviderRefused as error:
                return await self._fail_unsubmitted(current, str(error))
            except ProviderUnavailable as error:
                log.warning(
                    "create failed",
                    extra={"generation": gen.id, "attempt": attempt, "error": str(error)},
                )
                if error.ambiguous:
                    found = await self._look_up(current)
                    if found:
                        return await self.adopt_found(current, found)
                    await self.repo.defer(lease, config.create_settle)
                    return current  # unknown for now: recovery looks again, later
                await self.repo.create_not_recorded(lease)
                if attempt < config.create_attempts_max:
                    await asyncio.sleep(config.create_backoff_s * 2 ** (attempt - 1))
                continue
            self.faults.hit("after_submit")
            stored = await self.store_prediction(current, prediction)
            self.faults.hit("after_store")
            return stored
        return await self._fail_unsubmitted(
            gen, f"the provider did not accept the job in {config.create_attempts_max} attempts"
        )

    async def _fail_unsubmitted(self, gen: Generation, why: str) -> Generation:
        failed = await self.repo.end(gen.id, Status.FAILED, why[:500])
        if failed is not None:
            FINISHED.labels(failed.status.value, failed.model).inc()
        if failed is not None:
            gen = await self.settle(failed)
        raise ProviderFailed(f"the job could not be submitted: {why}")

    async def _look_up(self, gen: Generation) -> list[dict] | None:
        """Predictions made for this generation, or None when the provider cannot tell."""
        try:
            return await self.provider.find_by_webhook(self.webhook_url(gen.id), gen.created_at)
        except ProviderUnavailable as error:
            log.warning(
                "lookup failed; outcome unknown", extra={"generation": gen.id, "error": str(error)}
            )
            return None

    async def adopt_found(self, gen: Generation, found: list[dict]) -> Generation:
        """Keep the first job made for this generation; cancel any later duplicate."""
        keep, *duplicates = found
        for duplicate in duplicates:
            await self.cancel_duplicate(gen.id, str(duplicate.get("id") or ""))
        return await self.store_prediction(gen, keep)

    async def cancel_duplicate(self, generation_id: str, prediction_id: str) -> None:
        if not prediction_id:
            return
        log.warning(
            "canceling a second job for one generation",
            extra={"generation": generation_id, "prediction": prediction_id},
        )
        PROVIDER_DUPLICATES_CANCELED.inc()
        try:
            await self.provider.cancel(prediction_id)
        except ProviderUnavailable:
            log.warning("cancel of a duplicate failed", extra={"prediction": prediction_id})

    async def store_prediction(self, gen: Generation, prediction: dict) -> Generation:
        prediction_id = str(prediction.get("id") or "")
        stored = await self.repo.store_prediction(gen.id, prediction_id, self.config.poll_after)
        if stored is None:
            stored = await self.repo.get(gen.id)
            assert stored is not None
            if stored.prediction_id != prediction_id:
                await self.cancel_duplicate(gen.id, prediction_id)
                return stored
        if stored.status.terminal:
            # Ended while the job was being created (canceled, timed out): stop the job.
            await self._cancel_at_provider(prediction_id)
            return await self.settle(stored)
        if prediction.get("status") == "starting":
            return stored  # what storing it just recorded; nothing more to apply
        applied, _ = await self.apply_news(stored, ProviderNews.from_json(prediction))
        return applied

    async def _cancel_at_provider(self, prediction_id: str) -> dict | None:
        try:
            return await self.provider.cancel(prediction_id)
        except ProviderUnavailable:
            log.warning("cancel failed", extra={"prediction": prediction_id})
            return None

    async def apply_update(self, generation_hint: str, data: dict) -> tuple[bool, Status | None]:
        news = ProviderNews.from_json(data)
        if not news.prediction_id:
            raise InvalidArgument.of(FieldViolation("prediction_json", "has no id"))
        gen = await self.repo.by_prediction(news.prediction_id)
        if gen is None and generation_hint:
            gen = await self._adopt(generation_hint, news)
        if gen is None:
            return False, None
        gen, changed = await self.apply_news(gen, news)
        return changed, gen.status

    async def _adopt(self, generation_id: str, news: ProviderNews) -> Generation | None:
        """News of a prediction whose id we never stored (a crash right after submitting,
        or a create whose answer was lost). Only one job per generation is ever kept."""
        try:
            uuid.UUID(generation_id)
        except ValueError:
            return None
        gen = await self.repo.get(generation_id)
        if gen is None:
            return None
        if gen.prediction_id == news.prediction_id:
            return gen  # stored meanwhile (by a concurrent delivery of its news)
        if gen.prediction_id is not None:
            if news.status not in ("succeeded", "failed", "canceled", "aborted"):
                await self.cancel_duplicate(gen.id, news.prediction_id)
            return None
        if gen.charge is Charge.PENDING and not gen.status.terminal:
            return None  # not known to be paid for: recovery charges, then looks it up
        stored = await self.repo.store_prediction(
            gen.id, news.prediction_id, self.config.poll_after
        )
        if stored is None:  # another prediction (or this one) was stored first
            return await self._adopt(generation_id, news)
        if stored.status.terminal:
            await self._cancel_at_provider(news.prediction_id)
        return stored

    async def apply_news(self, gen: Generation, news: ProviderNews) -> tuple[Generation, bool]:
        if news.prediction_id != gen.prediction_id:
            return gen, False  # only the stored prediction's news counts
        updated, changes = await self.repo.apply(
            gen.id, lambda g: changes_from_news(g, news), self.config.poll_after
        )
        assert updated is not None
        if changes is not None and changes.terminal:
            FINISHED.labels(updated.status.value, updated.model).inc()
            self.faults.hit("after_terminal")
            updated = await self.settle(updated)
        return updated, changes is not None

    async def owned(self, user_id: str, generation_id: str) -> Generation:
        try:
            uuid.UUID(generation_id)
        except ValueError:
            raise NotFound("no such generation") from None
        gen = await self.repo.get(generation_id)
        if gen is None or gen.user_id != user_id:
            raise NotFound("no such generation")  # another user's id looks the same
        return gen

    async def cancel(self, user_id: str, generation_id: str) -> Generation:
        """The provider's answer wins a race with its own success: a video already made
        is delivered (and stays paid for), never canceled and refunded."""
        gen = await self.owned(user_id, generation_id)
        if gen.status is Status.CANCELED:
            return gen  # canceling twice is one cancel: a retried request sees the same
        if gen.status.terminal:
            raise FailedPrecondition(
                f"the generation already ended {gen.status.value}",
                reason="ALREADY_FINISHED",
                metadata={"status": gen.status.value},
            )
        if gen.prediction_id is None and await self._adopted_before_cancel(gen):
            return await self.cancel(user_id, generation_id)  # now with its job
        if gen.prediction_id:
            try:
                answer = await self.provider.cancel(gen.prediction_id)
            except ProviderUnavailable as error:
                raise ProviderFailed(str(error)) from None
            if answer is not None and answer.get("status") == "succeeded":
                delivered, _ = await self.apply_news(gen, ProviderNews.from_json(answer))
                raise FailedPrecondition(
                    f"the generation already ended {delivered.status.value}",
                    reason="ALREADY_FINISHED",
                    metadata={"status": delivered.status.value},
                )
        # Guarded by the job this cancel saw: one stored meanwhile (by a webhook, or a
        # create that landed) would be left running, unpaid, were the row ended now.
        ended = await self.repo.end_canceled(gen.id, gen.prediction_id)
        if ended is not None:
            FINISHED.labels(ended.status.value, ended.model).inc()
        if ended is None:
            return await self.cancel(user_id, generation_id)  # it moved meanwhile: look again
        return await self.settle(ended)

    async def _adopted_before_cancel(self, gen: Generation) -> bool:
        """A generation whose last create's outcome is unknown is not ended while that job
        may still run and succeed unseen: the job is looked for first (True: found and
        adopted, so the cancel goes to it). Until the create can no longer land, or when
        the provider cannot be asked, the cancel is refused for a moment (503)."""
        wait = await self.repo.unknown_create_wait(gen.id, self.config.create_settle)
        if wait is None:
            return False
        found = await self._look_up(gen)
        if found:
            await self.adopt_found(gen, found)
            return True
        if found is None or wait > timedelta(0):
            raise Unavailable(
                "the job's submission is not confirmed yet; retry the cancel shortly",
                reason="SUBMISSION_UNCONFIRMED",
                metadata={"retry_after": str(max(1, math.ceil(wait.total_seconds())))},
            )
        return False

    async def retry(self, user_id: str, generation_id: str, key: str) -> tuple[Generation, bool]:
        gen = await self.owned(user_id, generation_id)
        if not gen.status.refundable:
            raise FailedPrecondition(
                "only a failed, canceled or timed out generation can be retried",
                reason="NOT_RETRYABLE",
            )
        request = Request(
            gen.user_id,
            gen.model,
            gen.resolution,
            gen.prompt,
            gen.negative_prompt,
            gen.duration_s,
            gen.seed,
            gen.image_url,
            None,
        )
        return await self.create(request, key, retry_of=gen.id)
