"""What each verified webhook is acted on as: Replicate news for a generation, payment
events (read by domain.py) as the ledger's RPCs. Verification is verify.py; the
pipeline every source goes through is routes.Endpoint."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from aiohttp import web

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.grpc_status import parse_rpc_error
from videogen_common.wire import timestamp

from .domain import (
    Ignored,
    Invoice,
    PaymentEvent,
    PlanChange,
    Purchase,
)


class ReplicateAction:
    def __init__(self, generation_stub, timeout_s: float) -> None:
        self._stub, self._timeout_s = generation_stub, timeout_s

    async def __call__(self, data: dict, request: web.Request, body: bytes) -> str:
        reply = await self._stub.ApplyProviderUpdate(
            gpb.ApplyProviderUpdateRequest(
                generation_id=request.query.get("generation_id", "")[:64], prediction_json=body
            ),
            timeout=self._timeout_s,
        )
        return "applied" if reply.applied else "ignored"


class PaymentAction:
    """A payment provider's verified event, as the ledger's RPC it stands for. Every
    call is keyed by the provider's own id for the thing (payment, invoice), so any
    number of deliveries, under any event ids, has one effect; the answer says which."""

    def __init__(
        self, provider: str, parse: Callable[[dict], PaymentEvent], credits_stub, timeout_s: float
    ) -> None:
        self._provider, self._parse = provider, parse
        self._stub, self._timeout_s = credits_stub, timeout_s

    async def __call__(self, data: dict, request: web.Request, body: bytes) -> str:
        event = self._parse(data)
        p, timeout = self._provider, self._timeout_s
        if isinstance(event, Purchase):
            reply = await self._stub.RecordPurchase(
                cpb.RecordPurchaseRequest(
                    user_id=event.user_id,
                    package=event.package,
                    paid_amount=event.paid_amount,
                    currency=event.currency,
                    payment_reference=event.payment[:200],
                    idempotency_key=f"{p}:{event.payment}"[:200],
                    provider=p,
                ),
                timeout=timeout,
            )
            return "duplicate" if reply.replayed else "credited"
        if isinstance(event, Invoice):
            reply = await self._stub.ApplySubscriptionInvoice(
                cpb.ApplySubscriptionInvoiceRequest(
                    user_id=event.user_id,
                    plan=event.plan,
                    invoice_reference=event.invoice[:200],
                    period_end=timestamp(event.period_end),
                    idempotency_key=f"{p}-invoice:{event.invoice}"[:200],
                    provider=p,
                ),
                timeout=timeout,
            )
            return "duplicate" if reply.replayed else "credited"
        if isinstance(event, PlanChange):
            await self._stub.EnsureAccount(
                cpb.EnsureAccountRequest(user_id=event.user_id), timeout=timeout
            )
            await self._stub.SetPlan(
                cpb.SetPlanRequest(
                    user_id=event.user_id, plan=event.plan, period_end=timestamp(event.period_end)
                ),
                timeout=timeout,
            )
            return "plan_changed"
        try:
            reply = await self._stub.ReversePayment(
                cpb.ReversePaymentRequest(
                    payment_reference=event.payment[:200],
                    idempotency_key=f"{p}-reversal:{event.payment}"[:200],
                    reason=event.why,
                    provider=p,
                ),
                timeout=timeout,
            )
        except grpc.RpcError as error:
            if parse_rpc_error(error).reason == "PAYMENT_NOT_FOUND":
                raise Ignored("a payment that was never credited") from None
            raise
        return "duplicate" if reply.replayed else "reversed"
