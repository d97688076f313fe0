"""Admin routes (role admin in the JWT): grants and adjustments recorded with the admin's
id and reason, a user's ledger, reconciliation, stuck generations and one's history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.errors import FieldViolation, InvalidArgument, NotFound
from videogen_common.wire import timestamp

from .bodies import is_text, read_json_object
from .context import context_of, path_uuid, principal_of
from .lists import generations_page, transactions_page
from .pages import query_int
from .shapes import SEED_STATUS, account_json, generation_json, transaction_json

routes = web.RouteTableDef()
KINDS = {"grant": cpb.GRANT_SOURCE_ADMIN, "promo": cpb.GRANT_SOURCE_PROMO, "adjustment": None}
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


def _expiry(value: object, found: list[FieldViolation]) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        found.append(FieldViolation("expires_at", "must be an ISO 8601 time"))
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@routes.post("/api/admin/users/{user_id}/credits")
async def grant(request: web.Request) -> web.Response:
    """kind grant (default) or promo: a grant with an optional expires_at and priority;
    kind adjustment: a correction of either sign (a negative one draws like usage)."""
    admin, ctx = _admin(request), context_of(request)
    user_id = _user_id(request)
    data = await read_json_object(request)
    amount, reason, kind = data.get("amount"), data.get("reason"), data.get("kind", "grant")
    found: list[FieldViolation] = []
    if isinstance(amount, bool) or not isinstance(amount, int):
        found.append(FieldViolation("amount", "must be an integer"))
    elif not -INT64_MAX <= amount <= INT64_MAX:
        found.append(FieldViolation("amount", "is out of range"))
    if not isinstance(reason, str) or not reason.strip() or not is_text(reason):
        found.append(FieldViolation("reason", "is required"))
    if not isinstance(kind, str) or kind not in KINDS:
        found.append(FieldViolation("kind", "must be grant, promo or adjustment"))
    priority = data.get("priority")
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100
    ):
        found.append(FieldViolation("priority", "must be an integer from 0 to 100"))
    expires_at = _expiry(data.get("expires_at"), found)
    if kind == "adjustment" and ("expires_at" in data or "priority" in data):
        found.append(FieldViolation("kind", "an adjustment takes no expires_at or priority"))
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        # A grant retried after a lost answer must not grant twice: the key is the
        # client's to repeat, so it cannot be made up here.
        found.append(FieldViolation("Idempotency-Key", "is required for admin changes"))
    if found:
        raise InvalidArgument.of(*found)
    await ctx.credits.EnsureAccount(
        cpb.EnsureAccountRequest(user_id=user_id), timeout=ctx.timeout_s
    )
    common: dict[str, Any] = dict(
        user_id=user_id,
        amount=amount,
        idempotency_key=f"admin:{key}",
        description=str(reason).strip(),
        actor=f"admin:{admin.user_id}",
    )
    if kind == "adjustment":
        reply = await ctx.credits_admin.Add(
            cpb.AddRequest(kind=cpb.ENTRY_KIND_ADMIN_ADJUSTMENT, **common), timeout=ctx.timeout_s
        )
    else:
        message = cpb.GrantCreditsRequest(source=KINDS[kind], **common)
        if expires_at is not None:
            message.expires_at.CopyFrom(timestamp(expires_at))
        if priority is not None:
            message.priority = priority
        reply = await ctx.credits_admin.GrantCredits(message, timeout=ctx.timeout_s)
    return web.json_response(
        {"transaction": transaction_json(reply.entry), "credits": reply.balance}
    )


@routes.get("/api/admin/users/{user_id}")
async def account(request: web.Request) -> web.Response:
    """One user's account as operators see it: what can be spent, is held and is owed,
    the plan, the grants in spend order and the open holds. 404 for a user never seen
    (looking creates nothing)."""
    _admin(request)
    ctx, user_id = context_of(request), _user_id(request)
    found = await ctx.credits_admin.GetBalance(
        cpb.GetBalanceRequest(user_id=user_id), timeout=ctx.timeout_s
    )
    listed = await ctx.credits_admin.ListGrants(
        cpb.ListGrantsRequest(user_id=user_id), timeout=ctx.timeout_s
    )
    return web.json_response(account_json(found.account, listed))


@routes.get("/api/admin/users/{user_id}/generations")
async def generations(request: web.Request) -> web.Response:
    _admin(request)
    return await generations_page(request, _user_id(request))


@routes.get("/api/admin/users/{user_id}/transactions")
async def ledger(request: web.Request) -> web.Response:
    _admin(request)
    return await transactions_page(request, _user_id(request), context_of(request).credits_admin)


@routes.post("/api/admin/reconcile")
async def reconcile(request: web.Request) -> web.Response:
    _admin(request)
    ctx = context_of(request)
    user_id = request.query.get("user_id", "")
    reply = await ctx.credits_admin.Reconcile(
        cpb.ReconcileRequest(user_id=user_id), timeout=ctx.timeout_s * 6
    )
    return web.json_response(
        {
            "accounts_checked": reply.accounts_checked,
            "drifts": [
                {
                    "user_id": d.user_id,
                    "balance": d.balance,
                    "entries_sum": d.entries_sum,
                    "broken_entry_id": d.broken_entry_id or None,
                    "description": d.description,
                }
                for d in reply.drifts
            ],
        }
    )


@routes.get("/api/admin/generations/stuck")
async def stuck_generations(request: web.Request) -> web.Response:
    """Open generations of any user, oldest first, open for ?older_than_s= (600)."""
    _admin(request)
    ctx = context_of(request)
    reply = await ctx.generation.ListStuckGenerations(
        gpb.ListStuckGenerationsRequest(
            older_than_s=query_int(request, "older_than_s", 600, 0, 30 * 86400),
            page_size=query_int(request, "limit", 50, 0, 200),
        ),
        timeout=ctx.timeout_s,
    )
    return web.json_response({"generations": [generation_json(g) for g in reply.generations]})


@routes.get("/api/admin/generations/{id}")
async def generation_history(request: web.Request) -> web.Response:
    """One generation of any user, with each change its event log kept."""
    _admin(request)
    ctx = context_of(request)
    reply = await ctx.generation.GetGenerationHistory(
        gpb.GetGenerationHistoryRequest(generation_id=path_uuid(request, "id")),
        timeout=ctx.timeout_s,
    )
    return web.json_response(
        {
            "generation": generation_json(reply.generation),
            "changes": [
                {
                    "event_id": c.event_id,
                    "status": SEED_STATUS[c.status],
                    "progress": c.progress,
                    "charge": c.charge,
                    "at": c.at.ToDatetime().isoformat() + "Z",
                }
                for c in reply.changes
            ],
        }
    )
