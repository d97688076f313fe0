"""The seed system's user routes, and ours beside them (cancel, retry, catalog)."""

from __future__ import annotations

import uuid

from aiohttp import web

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.errors import FieldViolation, InvalidArgument, NotFound

from .auth import Principal
from .bodies import read_generation, read_json_object
from .context import context_of, idempotency_key, path_uuid, principal_of
from .lists import generations_page, transactions_page
from .shapes import (
    generation_json,
    grant_json,
    next_expiry_json,
    status_json,
)

routes = web.RouteTableDef()


async def _create(request: web.Request, task: str) -> web.Response:
    ctx, user = context_of(request), principal_of(request)
    fields, image = await read_generation(request, task)
    message = gpb.CreateGenerationRequest(
        user_id=user.user_id,
        idempotency_key=idempotency_key(request),
        model=fields["model"],
        resolution=fields["resolution"],
        prompt=fields["prompt"],
        negative_prompt=fields.get("negative_prompt", ""),
        duration_s=fields["duration"],
    )
    if "seed" in fields:
        message.seed = fields["seed"]
    if image is not None:
        message.image_bytes = image
    elif "image_url" in fields:
        message.image_url = fields["image_url"]
    async with ctx.generation_slot(user):
        reply = await ctx.generation.CreateGeneration(message, timeout=ctx.timeout_s)
    return web.json_response(generation_json(reply.generation))


@routes.post("/api/generation/text-to-video")
async def text_to_video(request: web.Request) -> web.Response:
    return await _create(request, "text-to-video")


@routes.post("/api/generation/image-to-video")
async def image_to_video(request: web.Request) -> web.Response:
    return await _create(request, "image-to-video")


async def _generation(request: web.Request) -> gpb.Generation:
    ctx, user = context_of(request), principal_of(request)
    reply = await ctx.generation.GetGeneration(
        gpb.GetGenerationRequest(user_id=user.user_id, generation_id=path_uuid(request, "id")),
        timeout=ctx.timeout_s,
    )
    return reply.generation


@routes.get("/api/generation/status/{id}")
async def generation_status(request: web.Request) -> web.Response:
    return web.json_response(status_json(await _generation(request)))


@routes.get("/api/generation/history")
async def history(request: web.Request) -> web.Response:
    return await generations_page(request, principal_of(request).user_id)


@routes.post("/api/generation/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    ctx, user = context_of(request), principal_of(request)
    reply = await ctx.generation.CancelGeneration(
        gpb.CancelGenerationRequest(user_id=user.user_id, generation_id=path_uuid(request, "id")),
        timeout=ctx.timeout_s,
    )
    return web.json_response(generation_json(reply.generation))


@routes.post("/api/generation/{id}/retry")
async def retry(request: web.Request) -> web.Response:
    ctx, user = context_of(request), principal_of(request)
    message = gpb.RetryGenerationRequest(
        user_id=user.user_id,
        generation_id=path_uuid(request, "id"),
        idempotency_key=idempotency_key(request),
    )
    async with ctx.generation_slot(user):
        reply = await ctx.generation.RetryGeneration(message, timeout=ctx.timeout_s)
    return web.json_response(generation_json(reply.generation))


@routes.get("/api/generation/catalog")
async def catalog(request: web.Request) -> web.Response:
    ctx = context_of(request)
    reply = await ctx.generation.GetCatalog(gpb.GetCatalogRequest(), timeout=ctx.timeout_s)
    limits = reply.limits
    return web.json_response(
        {
            "models": [
                {
                    "model": m.model,
                    "task": m.task,
                    "default_resolution": m.default_resolution,
                    "prices": {p.resolution: p.credits for p in m.prices},
                }
                for m in reply.models
            ],
            "limits": {
                "prompt_length": [limits.prompt_length_min, limits.prompt_length_max],
                "negative_prompt_length_max": limits.negative_prompt_length_max,
                "duration": [limits.duration_s_min, limits.duration_s_max],
                "image_bytes_max": limits.image_bytes_max,
                "image_types": list(limits.image_types),
            },
        }
    )


@routes.get("/api/credits/packages")
async def packages(request: web.Request) -> web.Response:
    ctx = context_of(request)
    reply = await ctx.credits.ListPackages(cpb.ListPackagesRequest(), timeout=ctx.timeout_s)
    return web.json_response(
        {
            "packages": [
                {"id": p.id, "credits": p.credits, "price": p.price, "currency": p.currency}
                for p in reply.packages
            ],
            "plans": [
                {
                    "code": p.code,
                    "allotment": p.allotment,
                    "rollover_cap": p.rollover_cap,
                    "unlimited": p.unlimited,
                }
                for p in reply.plans
            ],
        }
    )


async def _account(request: web.Request) -> cpb.Account:
    ctx, user = context_of(request), principal_of(request)
    reply = await ctx.credits.GetBalance(
        cpb.GetBalanceRequest(user_id=user.user_id), timeout=ctx.timeout_s
    )
    return reply.account


@routes.get("/api/users/me")
async def me(request: web.Request) -> web.Response:
    account, user = await _account(request), principal_of(request)
    created = account.created_at.ToDatetime().isoformat() + "Z"
    period_end = (
        account.plan_period_end.ToDatetime().isoformat() + "Z"
        if account.HasField("plan_period_end")
        else None
    )
    return web.json_response(
        {
            "id": user.user_id,
            "email": user.email or None,
            "credits": account.balance,
            "subscription_tier": account.plan,
            "plan": account.plan,
            "plan_period_end": period_end,
            "low_balance": account.low_balance,
            "debt": account.debt,
            "is_admin": user.is_admin,
            "created_at": created,
            "updated_at": created,
        }
    )


@routes.get("/api/users/credits")
async def credits(request: web.Request) -> web.Response:
    """``credits`` is what can be spent now: live grants, less what running jobs hold."""
    ctx, user = context_of(request), principal_of(request)
    account = await _account(request)
    listed = await ctx.credits.ListGrants(
        cpb.ListGrantsRequest(user_id=user.user_id), timeout=ctx.timeout_s
    )
    return web.json_response(
        {
            "credits": account.balance,
            "reserved": account.reserved,
            "debt": account.debt,
            "low_balance": account.low_balance,
            "plan": account.plan,
            "grants": [grant_json(g) for g in listed.grants],
            "next_expiry": next_expiry_json(account),
        }
    )


@routes.get("/api/users/transactions")
async def transactions(request: web.Request) -> web.Response:
    ctx = context_of(request)
    return await transactions_page(request, principal_of(request).user_id, ctx.credits)


@routes.post("/api/events/token")
async def events_token(request: web.Request) -> web.Response:
    ctx = context_of(request)
    if not ctx.events_enabled:
        raise web.HTTPNotFound(reason="Events are not enabled")
    principal = principal_of(request)
    watched = request.query.get("user_id")
    if watched is not None:
        # The admin console follows the user it shows; the token only reads that user's
        # events and carries no role.
        if not principal.is_admin:
            raise NotFound("Not found")
        try:
            principal = Principal(str(uuid.UUID(watched)), "", False)
        except ValueError:
            raise InvalidArgument.of(FieldViolation("user_id", "must be a UUID")) from None
    token, ttl_s = ctx.auth.events_token(principal)
    return web.json_response({"token": token, "expires_in": ttl_s})


__all__ = ["routes", "read_json_object"]
