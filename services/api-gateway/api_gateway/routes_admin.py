"""Admin routes (role admin in the JWT): grants and adjustments recorded with the admin's
id and reason, a user's ledger, reconciliation."""
from __future__ import annotations

import uuid

from aiohttp import web

from videogen.credits.v1 import credits_pb2 as cpb
from videogen_common.errors import FieldViolation, InvalidArgument, NotFound

from .bodies import is_text, read_json_object
from .context import context_of, idempotency_key, principal_of
from .pages import page_params
from .shapes import transaction_json

routes = web.RouteTableDef()
KINDS = {"grant": cpb.ENTRY_KIND_GRANT, "adjustment": cpb.ENTRY_KIND_ADMIN_ADJUSTMENT}
INT64_MAX = 2**63 - 1  # AddRequest.amount is an int64


def _admin(request: web.Request):
    principal = principal_of(request)
    if not principal.is_admin:
        raise NotFound("Not found")  # the admin surface does not exist for others
    return principal


def _user_id(request: web.Request) -> str:
    try:
        return str(uuid.UUID(request.match_info["user_id"]))
    except ValueError:
        raise InvalidArgument.of(FieldViolation("user_id", "must be a UUID")) from None


@routes.post("/api/admin/users/{user_id}/credits")
async def grant(request: web.Request) -> web.Response:
    admin, ctx = _admin(request), context_of(request)
    user_id = _user_id(request)
    data = await read_json_object(request)
    amount, reason, kind = data.get("amount"), data.get("reason"), data.get("kind", "grant")
    found = []
    if isinstance(amount, bool) or not isinstance(amount, int):
        found.append(FieldViolation("amount", "must be an integer"))
    elif not -INT64_MAX <= amount <= INT64_MAX:
        found.append(FieldViolation("amount", "is out of range"))
    if not isinstance(reason, str) or not reason.strip() or not is_text(reason):
        found.append(FieldViolation("reason", "is required"))
    if not isinstance(kind, str) or kind not in KINDS:
        found.append(FieldViolation("kind", "must be grant or adjustment"))
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        # A grant retried after a lost answer must not grant twice: the key is the
        # client's to repeat, so it cannot be made up here.
        found.append(FieldViolation("Idempotency-Key", "is required for admin changes"))
    if found:
        raise InvalidArgument.of(*found)
    await ctx.credits.EnsureAccount(cpb.EnsureAccountRequest(user_id=user_id),
                                    timeout=ctx.timeout_s)
    reply = await ctx.credits_admin.Add(cpb.AddRequest(
        user_id=user_id, amount=amount, kind=KINDS[kind],
        idempotency_key=f"admin:{idempotency_key(request)}", description=reason.strip(),
        actor=f"admin:{admin.user_id}"), timeout=ctx.timeout_s)
    return web.json_response({"transaction": transaction_json(reply.entry),
                              "credits": reply.balance})


@routes.get("/api/admin/users/{user_id}/transactions")
async def ledger(request: web.Request) -> web.Response:
    _admin(request)
    ctx, user_id = context_of(request), _user_id(request)
    limit, cursor = page_params(request)
    reply = await ctx.credits_admin.ListTransactions(cpb.ListTransactionsRequest(
        user_id=user_id, page_size=limit, page_token=cursor), timeout=ctx.timeout_s)
    return web.json_response({"transactions": [transaction_json(e) for e in reply.entries],
                              "next_cursor": reply.next_page_token or None})


@routes.post("/api/admin/reconcile")
async def reconcile(request: web.Request) -> web.Response:
    _admin(request)
    ctx = context_of(request)
    user_id = request.query.get("user_id", "")
    reply = await ctx.credits_admin.Reconcile(cpb.ReconcileRequest(user_id=user_id),
                                              timeout=ctx.timeout_s * 6)
    return web.json_response({
        "accounts_checked": reply.accounts_checked,
        "drifts": [{"user_id": d.user_id, "balance": d.balance, "entries_sum": d.entries_sum,
                    "broken_entry_id": d.broken_entry_id or None,
                    "description": d.description} for d in reply.drifts]})
