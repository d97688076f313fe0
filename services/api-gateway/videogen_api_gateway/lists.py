"""One user's generations and ledger as pages: the user's own routes and the admin's
serve the same shapes, differing only in whose they are and which caller asks."""

from __future__ import annotations

from aiohttp import web

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb

from .context import context_of
from .pages import page_params
from .shapes import generation_json, transaction_json


async def generations_page(request: web.Request, user_id: str) -> web.Response:
    ctx = context_of(request)
    limit, cursor = page_params(request)
    reply = await ctx.generation.ListGenerations(
        gpb.ListGenerationsRequest(user_id=user_id, page_size=limit, page_token=cursor),
        timeout=ctx.timeout_s,
    )
    return web.json_response(
        {
            "generations": [generation_json(g) for g in reply.generations],
            "next_cursor": reply.next_page_token or None,
        }
    )


async def transactions_page(request: web.Request, user_id: str, credits) -> web.Response:
    """``credits``: the stub of the caller asking (the API's own, or the admin's)."""
    ctx = context_of(request)
    limit, cursor = page_params(request)
    reply = await credits.ListTransactions(
        cpb.ListTransactionsRequest(user_id=user_id, page_size=limit, page_token=cursor),
        timeout=ctx.timeout_s,
    )
    return web.json_response(
        {
            "transactions": [transaction_json(e) for e in reply.entries],
            "next_cursor": reply.next_page_token or None,
        }
    )
