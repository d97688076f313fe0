"""gRPC edge: authenticate the caller, translate proto <-> domain, map errors. No rules."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import grpc

from videogen.credits.v1 import credits_pb2 as pb
from videogen.credits.v1 import credits_pb2_grpc as pb_grpc
from videogen_common.caller_auth import CallerAuthenticator
from videogen_common.grpc_edge import serve_rpc
from videogen_common.wire import timestamp

from . import policy
from .balance_feed import RESYNC, BalanceFeed
from .domain import Account, Applied, Entry, Kind
from .ledger import Ledger

log = logging.getLogger(__name__)
SERVICE = "credits"
# A watcher waits this long for the LISTEN connection before giving up.
LISTEN_WAIT_S = 5.0
# A watcher resuming after more missed changes than this gets a snapshot instead.
REPLAY_MAX = 500
_REPLAY, _SNAPSHOT = object(), object()

KIND_TO_PB = {
    Kind.SIGNUP_GRANT: pb.ENTRY_KIND_SIGNUP_GRANT,
    Kind.USAGE: pb.ENTRY_KIND_USAGE,
    Kind.REFUND: pb.ENTRY_KIND_REFUND,
    Kind.PURCHASE: pb.ENTRY_KIND_PURCHASE,
    Kind.GRANT: pb.ENTRY_KIND_GRANT,
    Kind.ADMIN_ADJUSTMENT: pb.ENTRY_KIND_ADMIN_ADJUSTMENT,
}
KIND_FROM_PB = {v: k for k, v in KIND_TO_PB.items()}


def entry_pb(entry: Entry) -> pb.Entry:
    return pb.Entry(
        id=entry.id, user_id=entry.user_id, kind=KIND_TO_PB[entry.kind], amount=entry.amount,
        balance_after=entry.balance_after, reference=entry.reference,
        description=entry.description, actor=entry.actor,
        created_at=timestamp(entry.created_at),
    )


class CreditsServicer(pb_grpc.CreditsServiceServicer):
    def __init__(self, ledger: Ledger, auth: CallerAuthenticator, feed: BalanceFeed) -> None:
        self._ledger = ledger
        self._auth = auth
        self._feed = feed

    def _account_pb(self, account: Account) -> pb.Account:
        return pb.Account(
            user_id=account.user_id, balance=account.balance, plan=account.plan,
            low_balance=self._ledger.is_low(account.balance, account.unlimited),
            unlimited=account.unlimited, created_at=timestamp(account.created_at),
        )

    async def _handle(self, rpc: str, context: grpc.aio.ServicerContext,
                      work: Callable[[str], Awaitable[object]]):
        return await serve_rpc(SERVICE, rpc, context, self._auth, policy.authorize, work)

    async def EnsureAccount(self, request, context):
        async def work(caller):
            account, created = await self._ledger.ensure_account(request.user_id)
            return pb.EnsureAccountResponse(account=self._account_pb(account), created=created)
        return await self._handle("EnsureAccount", context, work)

    async def GetBalance(self, request, context):
        async def work(caller):
            account = await self._ledger.get_account(request.user_id)
            return pb.GetBalanceResponse(account=self._account_pb(account))
        return await self._handle("GetBalance", context, work)

    @staticmethod
    def _applied(response_type, applied: Applied):
        return response_type(entry=entry_pb(applied.entry), balance=applied.balance,
                             replayed=applied.replayed)

    async def Deduct(self, request, context):
        async def work(caller):
            applied = await self._ledger.deduct(
                request.user_id, request.amount, request.reference,
                request.idempotency_key, request.description, caller,
            )
            return self._applied(pb.DeductResponse, applied)
        return await self._handle("Deduct", context, work)

    async def Add(self, request, context):
        async def work(caller):
            applied = await self._ledger.add(
                caller, request.user_id, request.amount, KIND_FROM_PB.get(request.kind),
                request.idempotency_key, request.description, request.actor,
                request.reference,
            )
            return self._applied(pb.AddResponse, applied)
        return await self._handle("Add", context, work)

    async def Refund(self, request, context):
        async def work(caller):
            applied = await self._ledger.refund(
                request.reference, request.idempotency_key, request.reason, caller
            )
            return self._applied(pb.RefundResponse, applied)
        return await self._handle("Refund", context, work)

    async def ListTransactions(self, request, context):
        async def work(caller):
            kinds = [KIND_FROM_PB[k] for k in request.kinds if k in KIND_FROM_PB]
            entries, token = await self._ledger.list_entries(
                request.user_id, request.page_size, request.page_token, kinds,
                request.reference,
            )
            return pb.ListTransactionsResponse(
                entries=[entry_pb(e) for e in entries], next_page_token=token
            )
        return await self._handle("ListTransactions", context, work)

    async def SetPlan(self, request, context):
        async def work(caller):
            account = await self._ledger.set_plan(request.user_id, request.plan)
            return pb.SetPlanResponse(account=self._account_pb(account))
        return await self._handle("SetPlan", context, work)

    async def Reconcile(self, request, context):
        async def work(caller):
            checked, drifts = await self._ledger.reconcile(request.user_id)
            if drifts:
                log.error("ledger drift found", extra={"accounts": len(drifts)})
            return pb.ReconcileResponse(
                accounts_checked=checked,
                drifts=[pb.Drift(user_id=d.user_id, balance=d.balance,
                                 entries_sum=d.entries_sum, broken_entry_id=d.broken_entry_id,
                                 description=d.description) for d in drifts],
            )
        return await self._handle("Reconcile", context, work)

    async def WatchBalance(self, request, context):
        async def snapshot(caller):
            return await self._ledger.get_account(request.user_id)

        account = await self._handle("WatchBalance", context, snapshot)
        user_id = account.user_id
        queue = self._feed.subscribe(user_id)
        try:
            try:
                await asyncio.wait_for(self._feed.listening.wait(), LISTEN_WAIT_S)
            except asyncio.TimeoutError:
                await context.abort(grpc.StatusCode.UNAVAILABLE,
                                    "balance feed is not connected")
            seen = max(0, request.after_entry_id)
            step = _REPLAY if seen else _SNAPSHOT
            change = None
            while True:
                if step is _REPLAY:
                    # Resuming, or the feed reconnected: whatever came after ``seen``, in
                    # order, read from the ledger itself (or a snapshot if that is a lot).
                    missed = await self._ledger.entries_after(user_id, seen, REPLAY_MAX + 1)
                    if len(missed) > REPLAY_MAX:
                        step = _SNAPSHOT
                        continue
                    for entry in missed:
                        seen = entry.id
                        yield self._change_pb(account, entry.id, entry.balance_after,
                                              entry.kind, entry.amount)
                elif step is _SNAPSHOT:
                    # Read after subscribing, so no change falls between the two; the
                    # notifications already reflected in it are skipped by entry id.
                    account = await self._ledger.get_account(user_id)
                    seen = account.last_entry_id
                    yield self._snapshot_pb(account)
                elif change.entry_id > seen:
                    seen = change.entry_id
                    yield self._change_pb(account, change.entry_id, change.balance,
                                          change.kind, change.amount)
                change = await queue.get()
                step = _REPLAY if change is RESYNC else None
        finally:
            self._feed.unsubscribe(user_id, queue)

    def _change_pb(self, account: Account, entry_id: int, balance: int, kind: Kind,
                   amount: int) -> pb.WatchBalanceResponse:
        return pb.WatchBalanceResponse(
            user_id=account.user_id, balance=balance,
            low_balance=self._ledger.is_low(balance, account.unlimited),
            entry_id=entry_id, kind=KIND_TO_PB[kind], amount=amount)

    def _snapshot_pb(self, account: Account) -> pb.WatchBalanceResponse:
        return pb.WatchBalanceResponse(
            user_id=account.user_id, balance=account.balance,
            low_balance=self._ledger.is_low(account.balance, account.unlimited),
            entry_id=account.last_entry_id,
        )
