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

from . import policy
from .balance_feed import RESYNC, BalanceFeed
from .billing import Billing
from .domain import Account, Applied, Kind
from .service import Ledger
from .translate import (
    KIND_FROM_PB,
    KIND_TO_PB,
    SOURCE_FROM_PB,
    account_pb,
    entry_pb,
    grant_pb,
    hold_pb,
    optional_time,
    package_pb,
    plan_pb,
)

log = logging.getLogger(__name__)
SERVICE = "credits"
# A watcher waits this long for the LISTEN connection before giving up.
LISTEN_WAIT_S = 5.0
# A watcher resuming after more missed changes than this gets a snapshot instead.
REPLAY_MAX = 500
_REPLAY, _SNAPSHOT = object(), object()


class CreditsServicer(pb_grpc.CreditsServiceServicer):
    def __init__(
        self, ledger: Ledger, billing: Billing, auth: CallerAuthenticator, feed: BalanceFeed
    ) -> None:
        self._ledger = ledger
        self._billing = billing
        self._auth = auth
        self._feed = feed

    def _account_pb(self, account: Account) -> pb.Account:
        return account_pb(account, self._ledger.is_low(account.available, account.unlimited))

    async def _handle(
        self, rpc: str, context: grpc.aio.ServicerContext, work: Callable[[str], Awaitable[object]]
    ):
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
        return response_type(
            entry=entry_pb(applied.entry), balance=applied.balance, replayed=applied.replayed
        )

    async def Deduct(self, request, context):
        async def work(caller):
            applied = await self._ledger.deduct(
                request.user_id,
                request.amount,
                request.reference,
                request.idempotency_key,
                request.description,
                caller,
            )
            return self._applied(pb.DeductResponse, applied)

        return await self._handle("Deduct", context, work)

    async def Add(self, request, context):
        async def work(caller):
            applied = await self._ledger.add(
                caller,
                request.user_id,
                request.amount,
                KIND_FROM_PB.get(request.kind),
                request.idempotency_key,
                request.description,
                request.actor,
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
                request.user_id,
                request.page_size,
                request.page_token,
                kinds,
                request.reference,
            )
            return pb.ListTransactionsResponse(
                entries=[entry_pb(e) for e in entries], next_page_token=token
            )

        return await self._handle("ListTransactions", context, work)

    async def SetPlan(self, request, context):
        async def work(caller):
            account = await self._ledger.set_plan(
                request.user_id, request.plan, optional_time(request, "period_end")
            )
            return pb.SetPlanResponse(account=self._account_pb(account))

        return await self._handle("SetPlan", context, work)

    async def GrantCredits(self, request, context):
        async def work(caller):
            applied = await self._ledger.grant(
                caller,
                request.user_id,
                request.amount,
                SOURCE_FROM_PB.get(request.source),
                optional_time(request, "expires_at"),
                request.priority if request.HasField("priority") else None,
                request.reference,
                request.idempotency_key,
                request.description,
                request.actor,
            )
            return self._applied(pb.GrantCreditsResponse, applied)

        return await self._handle("GrantCredits", context, work)

    async def ListGrants(self, request, context):
        async def work(caller):
            grants, holds = await self._ledger.grants(request.user_id, request.include_spent)
            return pb.ListGrantsResponse(
                grants=[grant_pb(g) for g in grants], open_holds=[hold_pb(h) for h in holds]
            )

        return await self._handle("ListGrants", context, work)

    async def Reserve(self, request, context):
        async def work(caller):
            applied = await self._ledger.reserve(
                request.user_id,
                request.amount,
                request.reference,
                request.idempotency_key,
                request.timeout_s,
            )
            return pb.ReserveResponse(hold=hold_pb(applied.hold), replayed=applied.replayed)

        return await self._handle("Reserve", context, work)

    async def Capture(self, request, context):
        async def work(caller):
            applied = await self._ledger.capture(
                request.reference,
                request.amount,
                request.idempotency_key,
                request.description,
                caller,
            )
            return pb.CaptureResponse(
                entry=entry_pb(applied.entry),
                hold=hold_pb(applied.hold),
                balance=applied.balance,
                replayed=applied.replayed,
            )

        return await self._handle("Capture", context, work)

    async def Release(self, request, context):
        async def work(caller):
            applied = await self._ledger.release(
                request.reference, request.idempotency_key, request.reason, caller
            )
            return pb.ReleaseResponse(hold=hold_pb(applied.hold), replayed=applied.replayed)

        return await self._handle("Release", context, work)

    async def RecordPurchase(self, request, context):
        async def work(caller):
            applied = await self._billing.record_purchase(
                request.user_id,
                request.package,
                request.paid_amount,
                request.currency,
                request.payment_reference,
                request.idempotency_key,
                request.provider or caller,
            )
            return self._applied(pb.RecordPurchaseResponse, applied)

        return await self._handle("RecordPurchase", context, work)

    async def ReversePayment(self, request, context):
        async def work(caller):
            applied = await self._billing.reverse_payment(
                request.payment_reference,
                request.idempotency_key,
                request.reason,
                request.provider or caller,
            )
            return pb.ReversePaymentResponse(
                entry=entry_pb(applied.entry),
                balance=applied.balance,
                debt=applied.debt,
                replayed=applied.replayed,
            )

        return await self._handle("ReversePayment", context, work)

    async def ApplySubscriptionInvoice(self, request, context):
        async def work(caller):
            applied, account = await self._billing.apply_invoice(
                request.user_id,
                request.plan,
                request.invoice_reference,
                optional_time(request, "period_end"),
                request.idempotency_key,
                request.provider or caller,
            )
            return pb.ApplySubscriptionInvoiceResponse(
                entry=entry_pb(applied.entry),
                account=self._account_pb(account),
                replayed=applied.replayed,
            )

        return await self._handle("ApplySubscriptionInvoice", context, work)

    async def ListPackages(self, request, context):
        async def work(caller):
            catalog = self._billing.catalog
            return pb.ListPackagesResponse(
                packages=[package_pb(p) for p in catalog.packages.values()],
                plans=[plan_pb(p) for p in catalog.plans.values()],
            )

        return await self._handle("ListPackages", context, work)

    async def Reconcile(self, request, context):
        async def work(caller):
            checked, drifts = await self._ledger.reconcile(request.user_id)
            if drifts:
                log.error("ledger drift found", extra={"accounts": len(drifts)})
            return pb.ReconcileResponse(
                accounts_checked=checked,
                drifts=[
                    pb.Drift(
                        user_id=d.user_id,
                        balance=d.balance,
                        entries_sum=d.entries_sum,
                        broken_entry_id=d.broken_entry_id,
                        description=d.description,
                    )
                    for d in drifts
                ],
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
                # Not wait_for: on Python 3.11 it can drop a cancel (see videogen_common.db.Pool).
                async with asyncio.timeout(LISTEN_WAIT_S):
                    await self._feed.listening.wait()
            except TimeoutError:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "balance feed is not connected")
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
                    account = await self._ledger.get_account(user_id)
                    for entry in missed:
                        seen = entry.id
                        yield self._state_pb(account, entry.id, entry.kind, entry.amount)
                elif step is _SNAPSHOT:
                    # Read after subscribing, so no change falls between the two; the
                    # notifications already reflected in it are skipped by entry id.
                    account = await self._ledger.get_account(user_id)
                    seen = account.last_entry_id
                    yield self._state_pb(account, seen, None, 0)
                elif change is not None and (change.kind is None or change.entry_id > seen):
                    # Each change is read back: what can be spent counts only live grants.
                    account = await self._ledger.get_account(user_id)
                    if change.kind is None:  # a hold opened or ended: no entry
                        yield self._state_pb(account, seen, None, 0)
                    else:
                        seen = change.entry_id
                        yield self._state_pb(account, seen, change.kind, change.amount)
                change = await queue.get()
                step = _REPLAY if change is RESYNC else None
        finally:
            self._feed.unsubscribe(user_id, queue)

    def _state_pb(
        self, account: Account, entry_id: int, kind: Kind | None, amount: int
    ) -> pb.WatchBalanceResponse:
        return pb.WatchBalanceResponse(
            user_id=account.user_id,
            balance=account.available,
            low_balance=self._ledger.is_low(account.available, account.unlimited),
            entry_id=entry_id,
            kind=KIND_TO_PB[kind] if kind else pb.ENTRY_KIND_UNSPECIFIED,
            amount=amount,
            reserved=account.reserved,
            debt=account.debt,
        )
