"""GET /api/events: Server-Sent Events with the user's balance and generation changes.

Both upstream streams (credits.WatchBalance, generation.WatchGenerations) are merged.
Each event's id is the pair of positions the client has reached, "<entry>-<event>": the
newest ledger entry and the newest generation event it was sent. Every event moves one
of them forward, so no id is sent twice; a client reconnecting with Last-Event-ID gets
every change after both positions, in order, from the ledger and the generation event
log in PostgreSQL, whichever replica it reaches. Without an id it first gets the
current balance and its unfinished generations.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

import grpc
from aiohttp import ClientConnectionResetError, web
from aiohttp_sse import sse_response

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.contract import OPEN_GENERATION_STATUSES

from .context import context_of
from .shapes import generation_json

log = logging.getLogger(__name__)
UNFINISHED = tuple(gpb.Status.Value(f"STATUS_{s.upper()}") for s in OPEN_GENERATION_STATUSES)
_EVENT_ID = re.compile(r"^(\d{1,18})-(\d{1,18})$")
GONE = (ConnectionResetError, ClientConnectionResetError, BrokenPipeError)


def parse_event_id(value: str) -> tuple[int, int] | None:
    match = _EVENT_ID.match(value.strip())
    return (int(match[1]), int(match[2])) if match else None


async def _balance(ctx, user_id: str, after: int, out: asyncio.Queue) -> None:
    stream = ctx.credits.WatchBalance(
        cpb.WatchBalanceRequest(user_id=user_id, after_entry_id=after)
    )
    async for change in stream:
        await out.put(("balance", change))


async def _generations(ctx, user_id: str, after: int, out: asyncio.Queue) -> None:
    stream = ctx.generation.WatchGenerations(
        gpb.WatchGenerationsRequest(user_id=user_id, after_event_id=after)
    )
    async for event in stream:
        await out.put(("generation", event))


def _balance_data(change) -> dict:
    return {
        "credits": change.balance,
        "low_balance": change.low_balance,
        "amount": change.amount or None,
    }


class _Positions:
    """Where the client is in both logs, and the id of the last event sent."""

    def __init__(self, resume: tuple[int, int] | None) -> None:
        self.entry: int | None = resume[0] if resume else None
        self.event: int | None = resume[1] if resume else None
        self.last_sent = ""

    @property
    def known(self) -> bool:
        return self.entry is not None and self.event is not None

    def next_id(self) -> str | None:
        """The id for the next event, or None when it would repeat the last one."""
        current = f"{self.entry}-{self.event}"
        if current == self.last_sent:
            return None
        self.last_sent = current
        return current


async def stream_events(request: web.Request, user_id: str) -> web.StreamResponse:
    ctx = context_of(request)
    resume = parse_event_id(request.headers.get("Last-Event-ID", ""))
    positions = _Positions(resume)
    out: asyncio.Queue = asyncio.Queue(256)
    tasks = [
        asyncio.create_task(_balance(ctx, user_id, positions.entry or 0, out)),
        asyncio.create_task(_generations(ctx, user_id, positions.event or 0, out)),
    ]
    response: web.StreamResponse | None = None
    try:
        async with sse_response(request, ping_interval=ctx.ping_s) as response:
            gone = asyncio.ensure_future(response.wait())  # ends when the client leaves
            tasks.append(gone)
            held: list = []
            while response.is_connected():
                getter = asyncio.create_task(out.get())
                done, _ = await asyncio.wait([getter, *tasks], return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break  # the client left, or an upstream ended: the client resumes
                source, message = getter.result()
                if not positions.known:
                    held.append((source, message))
                    if await _start(ctx, response, positions, held, user_id):
                        held = []
                    continue
                await _send(response, positions, source, message)
        return response
    except GONE:
        return response or web.Response(status=204)
    except grpc.RpcError:
        if response is not None and response.prepared:
            return response  # the stream already started: the client reconnects
        raise web.HTTPServiceUnavailable(reason="event upstream unavailable") from None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _start(ctx, response, positions: _Positions, held: list, user_id: str) -> bool:
    """A fresh client: once both streams named their position, the balance now and the
    unfinished generations, then whatever arrived meanwhile. False until then."""
    for source, message in held:
        if source == "balance" and positions.entry is None:
            positions.entry = message.entry_id
        elif source == "generation" and positions.event is None:
            positions.event = message.event_id
    if not positions.known:
        return False
    recent = await ctx.generation.ListGenerations(
        gpb.ListGenerationsRequest(user_id=user_id, page_size=20), timeout=ctx.timeout_s
    )
    snapshot = next(m for s, m in held if s == "balance")
    await response.send(
        json.dumps(_balance_data(snapshot)), event="balance", id=positions.next_id()
    )
    for gen in reversed(recent.generations):
        if gen.status in UNFINISHED:
            await response.send(json.dumps(generation_json(gen)), event="generation")
    for source, message in held:
        if message is not snapshot and not (
            source == "generation" and not message.HasField("generation")
        ):
            await _send(response, positions, source, message)
    return True


async def _send(response, positions: _Positions, source: str, message) -> None:
    if source == "balance":
        if message.entry_id <= (positions.entry or 0) and message.kind:
            return  # already reflected in what the client has
        positions.entry = max(positions.entry or 0, message.entry_id)
        await response.send(
            json.dumps(_balance_data(message)), event="balance", id=positions.next_id()
        )
        return
    positions.event = max(positions.event or 0, message.event_id)
    if message.HasField("generation"):
        await response.send(
            json.dumps(generation_json(message.generation)),
            event="generation",
            id=positions.next_id(),
        )
