"""The generation's life: charge, submit, apply news, settle. Never submit before
charging; never keep a charge for a job that did not run; refund once."""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from videogen_common.errors import (
    AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unavailable,
)

from .catalog import Catalog, provider_input
from .credits_client import BillingUnavailable, CreditsClient, InsufficientCredits, RefundResult
from .faults import Faults
from .provider import ProviderRefused, ProviderUnavailable, ReplicateProvider
from .records import Generation, ProviderNews
from .repository import GenerationRepository
from .rules import Request, Status, check_request, image_type
from .storage import LocalStorage, StorageError
from .s3_storage import S3Storage
from .transitions import changes_from_news

log = logging.getLogger(__name__)
OPEN = "status IN ('queued', 'starting', 'processing')"
KEY_LENGTH_MAX = 200


@dataclass(frozen=True)
class FlowConfig:
    webhook_base_url: str
    poll_after: timedelta


class IdempotencyKeyReused(AlreadyExists):
    reason = "IDEMPOTENCY_KEY_REUSED"


class ProviderFailed(Unavailable):
    reason = "PROVIDER_UNAVAILABLE"


def fingerprint(request: Request, retry_of: str | None) -> str:
    image = hashlib.sha256(request.image_bytes).hexdigest() if request.image_bytes else ""
    parts = (request.model, request.resolution, request.prompt, request.negative_prompt,
             str(request.duration_s), str(request.seed), request.image_url or "", image,
             retry_of or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class GenerationFlow:
    def __init__(self, repo: GenerationRepository, credits: CreditsClient,
                 provider: ReplicateProvider, storage: LocalStorage | S3Storage,
                 catalog: Catalog,
                 faults: Faults, config: FlowConfig) -> None:
        self.repo, self.credits, self.provider = repo, credits, provider
        self.storage, self.catalog, self.faults, self.config = storage, catalog, faults, config

    def webhook_url(self, generation_id: str) -> str:
        return f"{self.config.webhook_base_url}/api/webhooks/replicate?generation_id={generation_id}"

    async def create(self, request: Request, key: str,
                     retry_of: str | None = None) -> tuple[Generation, bool]:
        if not key.strip() or len(key) > KEY_LENGTH_MAX:
            raise InvalidArgument.of(FieldViolation(
                "idempotency_key", f"is required, at most {KEY_LENGTH_MAX} characters"))
        offer, request = check_request(request, self.catalog, self.storage.public_base_url)
        generation_id = str(uuid.uuid4())
        image_url = request.image_url
        if request.image_bytes is not None:
            kind = image_type(request.image_bytes)
            assert kind is not None  # checked by check_request
            try:
                image_url = await self.storage.save_image(generation_id, request.image_bytes,
                                                          kind)
            except StorageError as error:
                raise Unavailable(f"storing the image failed: {error}") from None
        gen, created = await self.repo.insert_or_get(dict(
            id=generation_id, user_id=request.user_id, idempotency_key=key,
            fingerprint=fingerprint(request, retry_of), model=offer.model,
            resolution=offer.resolution, prompt=request.prompt,
            negative_prompt=request.negative_prompt, duration_s=request.duration_s,
            seed=request.seed, image_url=image_url, provider_model=offer.provider_model,
            provider_input=provider_input(offer, request.prompt, request.negative_prompt,
                                          request.duration_s, request.seed, image_url),
            price=offer.price, retry_of=retry_of,
        ))
        if not created:
            if request.image_bytes is not None:
                await self.storage.discard(image_url or "")  # the first request kept its own
            return await self._replay(gen, request, retry_of), True
        self.faults.hit("after_insert")
        return await self.charge_and_submit(gen), False

    async def _replay(self, gen: Generation, request: Request, retry_of: str | None):
        if gen.fingerprint != fingerprint(request, retry_of):
            raise IdempotencyKeyReused("idempotency_key was already used with other parameters")
        if gen.status is Status.REJECTED:
            raise InsufficientCredits(await self.credits.balance(gen.user_id), gen.price)
        return gen

    async def charge_and_submit(self, gen: Generation) -> Generation:
        try:
            await self.credits.charge(gen)
        except InsufficientCredits:
            await self.repo.update(gen.id, "status = 'rejected', charge = 'none',"
                                   " error = 'insufficient credits', completed_at = now(),"
                                   " lease_until = NULL", "status = 'queued'")
            raise
        except BillingUnavailable:
            failed = await self._end(gen.id, Status.FAILED, "billing was unavailable")
            if failed is not None:
                await self.settle(failed)
            raise
        gen = (await self.repo.update(gen.id, "charge = 'charged'", "charge = 'pending'")
               or await self.repo.get(gen.id) or gen)
        self.faults.hit("after_charge")
        return await self.submit(gen)

    async def submit(self, gen: Generation) -> Generation:
        """``gen`` must be freshly read: a generation canceled meanwhile is not submitted."""
        if gen.status.terminal:
            return await self.settle(gen)
        try:
            prediction = await self.provider.create(gen.provider_model, gen.provider_input,
                                                    self.webhook_url(gen.id))
        except (ProviderRefused, ProviderUnavailable) as error:
            failed = await self._end(gen.id, Status.FAILED, str(error)[:500])
            if failed is not None:
                await self.settle(failed)
            raise ProviderFailed(f"the job could not be submitted: {error}") from None
        self.faults.hit("after_submit")
        gen = await self.store_prediction(gen, prediction)
        self.faults.hit("after_store")
        return gen

    async def store_prediction(self, gen: Generation, prediction: dict) -> Generation:
        stored = await self.repo.update(
            gen.id, "prediction_id = :p, submitted_at = now(), last_news_at = now(),"
            " status = CASE WHEN status = 'queued' THEN 'starting' ELSE status END,"
            " next_poll_at = now() + :poll, lease_until = NULL",
            "prediction_id IS NULL", p=prediction["id"], poll=self.config.poll_after)
        if stored is None:
            stored = await self.repo.get(gen.id)
            assert stored is not None
        if stored.status is Status.CANCELED:
            await self.provider.cancel(prediction["id"])
            return stored
        if prediction.get("status") == "starting":
            return stored  # what storing it just recorded; nothing more to apply
        applied, _ = await self.apply_news(stored, ProviderNews.from_json(prediction))
        return applied

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
        """News about a prediction whose id we never stored (a crash right after submitting)."""
        try:
            uuid.UUID(generation_id)
        except ValueError:
            return None
        gen = await self.repo.get(generation_id)
        if gen is None or gen.prediction_id is not None or gen.charge != "charged":
            return None
        return await self.repo.update(gen.id, "prediction_id = :p, submitted_at = now()",
                                      "prediction_id IS NULL", p=news.prediction_id)

    async def apply_news(self, gen: Generation, news: ProviderNews) -> tuple[Generation, bool]:
        updated, changes = await self.repo.apply(
            gen.id, lambda g: changes_from_news(g, news), self.config.poll_after)
        assert updated is not None
        if changes is not None and changes.terminal:
            self.faults.hit("after_terminal")
            updated = await self.settle(updated)
        return updated, changes is not None

    async def _end(self, generation_id: str, status: Status, error: str) -> Generation | None:
        return await self.repo.update(
            generation_id, "status = :s, error = :e, completed_at = now(), lease_until = NULL",
            OPEN, s=status.value, e=error)

    async def settle(self, gen: Generation) -> Generation:
        """What a terminal generation still owes: its refund, or our copy of its video."""
        if gen.status.refundable and gen.charge in ("pending", "charged"):
            if gen.charge == "pending":
                # Whether the charge landed is unknown: the same keyed Deduct tells.
                try:
                    await self.credits.charge(gen)
                except InsufficientCredits:
                    return await self.repo.update(gen.id, "charge = 'none'",
                                                  "charge = 'pending'") or gen
                gen = await self.repo.update(gen.id, "charge = 'charged'",
                                             "charge = 'pending'") or gen
            result = await self.credits.refund(gen, gen.error or gen.status.value)
            new_charge = "refunded" if result is RefundResult.REFUNDED else "none"
            gen = await self.repo.update(gen.id, "charge = :c", "charge IN ('pending', 'charged')",
                                         c=new_charge) or gen
        if gen.status is Status.SUCCEEDED and gen.video_url is None and gen.output_url:
            try:
                url = await self.storage.copy_video(gen.id, gen.output_url)
            except StorageError as error:
                log.warning("output copy failed", extra={"generation": gen.id,
                                                         "error": str(error)})
                return gen
            gen = await self.repo.update(gen.id, "video_url = :u", "video_url IS NULL",
                                         u=url) or gen
        return gen

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
        gen = await self.owned(user_id, generation_id)
        if gen.status is Status.CANCELED:
            return gen  # canceling twice is one cancel: a retried request sees the same
        if gen.status.terminal:
            raise FailedPrecondition(f"the generation already ended {gen.status.value}",
                                     reason="ALREADY_FINISHED")
        if gen.prediction_id:
            try:
                await self.provider.cancel(gen.prediction_id)
            except ProviderUnavailable as error:
                raise ProviderFailed(str(error)) from None
        ended = await self._end(gen.id, Status.CANCELED, "canceled by the user")
        return await self.settle(ended) if ended else await self.owned(user_id, generation_id)

    async def retry(self, user_id: str, generation_id: str, key: str) -> tuple[Generation, bool]:
        gen = await self.owned(user_id, generation_id)
        if not gen.status.refundable:
            raise FailedPrecondition("only a failed, canceled or timed out generation can be "
                                     "retried", reason="NOT_RETRYABLE")
        request = Request(gen.user_id, gen.model, gen.resolution, gen.prompt,
                          gen.negative_prompt, gen.duration_s, gen.seed, gen.image_url, None)
        return await self.create(request, key, retry_of=gen.id)
