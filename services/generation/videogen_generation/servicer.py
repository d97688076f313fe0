"""gRPC edge of the generation service: authenticate, translate, map errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import grpc

from videogen.generation.v1 import generation_pb2 as pb
from videogen.generation.v1 import generation_pb2_grpc as pb_grpc
from videogen_common import wire
from videogen_common.caller_auth import CallerAuthenticator
from videogen_common.contract import IMAGE_BYTES_MAX, IMAGE_TYPES, PAGE_SIZE_DEFAULT
from videogen_common.db import is_database_outage
from videogen_common.errors import FieldViolation, InvalidArgument
from videogen_common.grpc_edge import serve_rpc
from videogen_common.pg_listen import Listener
from videogen_common.wire import timestamp

from . import policy, rules
from .catalog import Catalog
from .domain import Charge, Generation, Status
from .events import EventLog
from .inspect_ops import Inspection
from .service import GenerationFlow

SERVICE = "generation"
PAGE_SIZE_MAX = 100
PAGE_KIND = "g"
STATUS_TO_PB = {s: getattr(pb, f"STATUS_{s.name}") for s in Status}


def generation_pb(gen: Generation, link: Callable[[str], str]) -> pb.Generation:
    """``link`` turns a stored media URL into the signed, expiring one the owner sees."""
    return pb.Generation(
        id=gen.id,
        user_id=gen.user_id,
        model=gen.model,
        resolution=gen.resolution,
        prompt=gen.prompt,
        negative_prompt=gen.negative_prompt,
        duration_s=gen.duration_s,
        seed=gen.seed,
        image_url=link(gen.image_url) if gen.image_url else "",
        status=STATUS_TO_PB[gen.status],
        progress=gen.progress,
        price=gen.price,
        video_url=link(gen.video_url) if gen.video_url else "",
        error=gen.error or "",
        logs=gen.logs,
        retry_of=gen.retry_of or "",
        created_at=timestamp(gen.created_at),
        completed_at=timestamp(gen.completed_at),
        refunded=gen.charge.given_back,
        reserved=gen.charge is Charge.RESERVED,
        provider_job_id=gen.prediction_id or "",
        credits_used=gen.price if gen.charge.paid and gen.status is not Status.REJECTED else 0,
    )


def _before_seq(token: str) -> int | None:
    try:
        return wire.decode_page_token(PAGE_KIND, token)
    except ValueError:
        raise InvalidArgument.of(
            FieldViolation("page_token", "is not a token from a previous page")
        ) from None


class GenerationServicer(pb_grpc.GenerationServiceServicer):
    def __init__(
        self,
        flow: GenerationFlow,
        catalog: Catalog,
        auth: CallerAuthenticator,
        listener: Listener[int],
        events: EventLog,
    ) -> None:
        self._flow, self._catalog, self._auth, self._listener = flow, catalog, auth, listener
        self._events = events
        self._link = flow.storage.link
        self._inspection = Inspection(flow.repo)

    async def _handle(
        self, rpc: str, context, work: Callable[[], Awaitable[object]], user_id: str | None = None
    ):
        async def checked(caller: str):
            if user_id is not None:
                rules.check_user_id(user_id)
            return await work()

        return await serve_rpc(SERVICE, rpc, context, self._auth, policy.authorize, checked)

    async def CreateGeneration(self, request, context):
        async def work():
            image = request.WhichOneof("image")
            gen, replayed = await self._flow.create(
                rules.Request(
                    user_id=request.user_id,
                    model=request.model,
                    resolution=request.resolution,
                    prompt=request.prompt,
                    negative_prompt=request.negative_prompt,
                    duration_s=request.duration_s,
                    seed=request.seed if request.HasField("seed") else None,
                    image_url=request.image_url if image == "image_url" else None,
                    image_bytes=request.image_bytes if image == "image_bytes" else None,
                ),
                request.idempotency_key,
            )
            return pb.CreateGenerationResponse(
                generation=generation_pb(gen, self._link), replayed=replayed
            )

        return await self._handle("CreateGeneration", context, work, request.user_id)

    async def GetGeneration(self, request, context):
        async def work():
            gen = await self._flow.owned(request.user_id, request.generation_id)
            return pb.GetGenerationResponse(generation=generation_pb(gen, self._link))

        return await self._handle("GetGeneration", context, work, request.user_id)

    async def ListGenerations(self, request, context):
        async def work():
            if not 0 <= request.page_size <= PAGE_SIZE_MAX:
                raise InvalidArgument.of(
                    FieldViolation("page_size", f"must be between 0 and {PAGE_SIZE_MAX}")
                )
            size = request.page_size or PAGE_SIZE_DEFAULT
            gens = await self._flow.repo.list_for_user(
                request.user_id, _before_seq(request.page_token), size + 1
            )
            token = (
                wire.encode_page_token(PAGE_KIND, gens[size - 1].seq) if len(gens) > size else ""
            )
            return pb.ListGenerationsResponse(
                generations=[generation_pb(g, self._link) for g in gens[:size]],
                next_page_token=token,
            )

        return await self._handle("ListGenerations", context, work, request.user_id)

    async def CancelGeneration(self, request, context):
        async def work():
            gen = await self._flow.cancel(request.user_id, request.generation_id)
            return pb.CancelGenerationResponse(generation=generation_pb(gen, self._link))

        return await self._handle("CancelGeneration", context, work, request.user_id)

    async def ListStuckGenerations(self, request, context):
        async def work():
            gens = await self._inspection.stuck(request.older_than_s, request.page_size)
            return pb.ListStuckGenerationsResponse(
                generations=[generation_pb(g, self._link) for g in gens]
            )

        return await self._handle("ListStuckGenerations", context, work)

    async def GetGenerationHistory(self, request, context):
        async def work():
            gen, changes = await self._inspection.history(request.generation_id)
            return pb.GetGenerationHistoryResponse(
                generation=generation_pb(gen, self._link),
                changes=[
                    pb.GenerationChange(
                        event_id=c.event_id,
                        status=STATUS_TO_PB[c.status],
                        progress=c.progress,
                        charge=c.charge,
                        at=timestamp(c.at),
                    )
                    for c in changes
                ],
            )

        return await self._handle("GetGenerationHistory", context, work)

    async def RetryGeneration(self, request, context):
        async def work():
            gen, replayed = await self._flow.retry(
                request.user_id, request.generation_id, request.idempotency_key
            )
            return pb.RetryGenerationResponse(
                generation=generation_pb(gen, self._link), replayed=replayed
            )

        return await self._handle("RetryGeneration", context, work, request.user_id)

    async def ApplyProviderUpdate(self, request, context):
        async def work():
            try:
                data = json.loads(request.prediction_json)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except (ValueError, UnicodeDecodeError):
                raise InvalidArgument.of(
                    FieldViolation("prediction_json", "must be a JSON object")
                ) from None
            applied, status = await self._flow.apply_update(request.generation_id, data)
            return pb.ApplyProviderUpdateResponse(
                applied=applied,
                status=STATUS_TO_PB[status] if status else pb.STATUS_UNSPECIFIED,
            )

        return await self._handle("ApplyProviderUpdate", context, work)

    async def GetCatalog(self, request, context):
        async def work():
            return catalog_pb(self._catalog)

        return await self._handle("GetCatalog", context, work)

    async def WatchGenerations(self, request, context):
        async def check():
            return None

        await self._handle("WatchGenerations", context, check, request.user_id)
        try:
            async for event in self._events.watch(
                self._listener, request.user_id, request.after_event_id
            ):
                message = pb.WatchGenerationsResponse(event_id=event.event_id, resync=event.resync)
                if event.generation is not None:
                    message.generation.CopyFrom(generation_pb(event.generation, self._link))
                yield message
        except Exception as error:  # the stream ends; the watcher resumes from its position
            if not (isinstance(error, TimeoutError) or is_database_outage(error)):
                raise
            await context.abort(grpc.StatusCode.UNAVAILABLE, "event feed unavailable")


def catalog_pb(catalog: Catalog) -> pb.GetCatalogResponse:
    models = []
    for model in catalog.models():
        offers = [o for o in catalog.offers if o.model == model]
        models.append(
            pb.CatalogModel(
                model=model,
                task=offers[0].task.value,
                prices=[pb.Price(resolution=o.resolution, credits=o.price) for o in offers],
                default_resolution=max(o.resolution for o in offers),
            )
        )
    limits = pb.Limits(
        prompt_length_min=rules.PROMPT_LENGTH_MIN,
        prompt_length_max=rules.PROMPT_LENGTH_MAX,
        negative_prompt_length_max=rules.NEGATIVE_PROMPT_LENGTH_MAX,
        duration_s_min=rules.DURATION_S_MIN,
        duration_s_max=rules.DURATION_S_MAX,
        image_bytes_max=IMAGE_BYTES_MAX,
        image_types=list(IMAGE_TYPES),
    )
    return pb.GetCatalogResponse(models=models, limits=limits)
