"""GET /api/events: Server-Sent Events with the user's balance and generation changes.

Both upstream streams (credits.WatchBalance, generation.WatchGenerations) are merged.
Event ids name the state they carry ("b<entry id>", "g<generation id>:<progress>:<status>"),
so after a reconnect with Last-Event-ID the client gets the current balance and its
unfinished generations again, and nothing it already has about the balance.
"""
from __future__ import annotations

import asyncio
import json

import grpc
from aiohttp import web
from aiohttp_sse import sse_response

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb

from .context import context_of
from .shapes import generation_json

UNFINISHED = (gpb.STATUS_QUEUED, gpb.STATUS_STARTING, gpb.STATUS_PROCESSING)


async def _balance(ctx, user_id: str, out: asyncio.Queue) -> None:
    stream = ctx.credits.WatchBalance(cpb.WatchBalanceRequest(user_id=user_id))
    async for change in stream:
        await out.put(("balance", f"b{change.entry_id}", {
            "credits": change.balance, "low_balance": change.low_balance,
            "amount": change.amount or None}))


async def _generations(ctx, user_id: str, out: asyncio.Queue) -> None:
    stream = ctx.generation.WatchGenerations(gpb.WatchGenerationsRequest(user_id=user_id))
    recent = await ctx.generation.ListGenerations(
        gpb.ListGenerationsRequest(user_id=user_id, page_size=20), timeout=ctx.timeout_s)
    for gen in recent.generations:
        if gen.status in UNFINISHED:
            await out.put(_generation_event(gen))
    async for update in stream:
        await out.put(_generation_event(update.generation))


def _generation_event(gen: gpb.Generation):
    return ("generation", f"g{gen.id}:{gen.progress}:{gen.status}", generation_json(gen))


async def stream_events(request: web.Request, user_id: str) -> web.StreamResponse:
    ctx = context_of(request)
    out: asyncio.Queue = asyncio.Queue(256)
    tasks = [asyncio.create_task(_balance(ctx, user_id, out)),
             asyncio.create_task(_generations(ctx, user_id, out))]
    last_seen = request.headers.get("Last-Event-ID", "")
    try:
        async with sse_response(request, ping_interval=ctx.ping_s) as response:
            # The ping task ends when the client goes away; that ends this loop too.
            gone = asyncio.ensure_future(response.wait())
            tasks.append(gone)
            while response.is_connected():
                getter = asyncio.create_task(out.get())
                done, _ = await asyncio.wait([getter, *tasks],
                                             return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break  # the client left, or an upstream ended: the client resumes
                event, event_id, data = getter.result()
                if event_id == last_seen:
                    continue
                await response.send(json.dumps(data), event=event, id=event_id)
        return response
    except grpc.RpcError:
        raise web.HTTPServiceUnavailable(reason="event upstream unavailable") from None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
