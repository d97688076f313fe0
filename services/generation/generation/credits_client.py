"""The generation service's side of the ledger: charge and refund, keyed by generation."""
from __future__ import annotations

import enum

import grpc

from videogen.credits.v1 import credits_pb2 as pb
from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.errors import FailedPrecondition, Unavailable
from videogen_common.grpc_status import parse_rpc_error

from .records import Generation


class InsufficientCredits(FailedPrecondition):
    reason = "INSUFFICIENT_CREDITS"

    def __init__(self, balance: int, required: int) -> None:
        super().__init__(f"insufficient credits: balance {balance}, price {required}",
                         metadata={"balance": str(balance), "required": str(required)})
        self.balance, self.required = balance, required


class BillingUnavailable(Unavailable):
    reason = "BILLING_UNAVAILABLE"


class RefundResult(enum.Enum):
    REFUNDED = "refunded"
    NEVER_CHARGED = "never_charged"


def charge_key(generation_id: str) -> str:
    return f"charge:{generation_id}"


def refund_key(generation_id: str) -> str:
    return f"refund:{generation_id}"


class CreditsClient:
    def __init__(self, channel: grpc.aio.Channel, token: str, timeout_s: float) -> None:
        self._stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(channel), token)
        self._timeout_s = timeout_s

    async def charge(self, gen: Generation) -> None:
        """Deduct the price once (keyed by the generation); repeat calls are harmless."""
        request = pb.DeductRequest(
            user_id=gen.user_id, amount=gen.price, reference=gen.id,
            idempotency_key=charge_key(gen.id),
            description=f"{gen.model} {gen.resolution} {gen.duration_s}s",
        )
        for attempt in (1, 2):
            try:
                await self._stub.Deduct(request, timeout=self._timeout_s)
                return
            except grpc.RpcError as error:
                remote = parse_rpc_error(error)
                if remote.reason == "INSUFFICIENT_CREDITS":
                    raise InsufficientCredits(int(remote.metadata["balance"]),
                                              int(remote.metadata["required"])) from None
                if remote.reason == "UNKNOWN_ACCOUNT" and attempt == 1:
                    await self.ensure_account(gen.user_id)
                    continue
                raise BillingUnavailable(f"charging failed: {remote.code.name}") from None

    async def ensure_account(self, user_id: str) -> None:
        try:
            await self._stub.EnsureAccount(pb.EnsureAccountRequest(user_id=user_id),
                                           timeout=self._timeout_s)
        except grpc.RpcError as error:
            raise BillingUnavailable(
                f"opening the account failed: {error.code().name}") from None

    async def balance(self, user_id: str) -> int:
        try:
            response = await self._stub.GetBalance(pb.GetBalanceRequest(user_id=user_id),
                                                   timeout=self._timeout_s)
        except grpc.RpcError as error:
            raise BillingUnavailable(f"balance unavailable: {error.code().name}") from None
        return response.account.balance

    async def refund(self, gen: Generation, reason: str) -> RefundResult:
        request = pb.RefundRequest(reference=gen.id, idempotency_key=refund_key(gen.id),
                                   reason=reason[:500])
        try:
            await self._stub.Refund(request, timeout=self._timeout_s)
            return RefundResult.REFUNDED
        except grpc.RpcError as error:
            remote = parse_rpc_error(error)
            if remote.reason == "ALREADY_REFUNDED":
                return RefundResult.REFUNDED
            if remote.reason == "CHARGE_NOT_FOUND":
                return RefundResult.NEVER_CHARGED
            raise BillingUnavailable(f"refund failed: {remote.code.name}") from None
