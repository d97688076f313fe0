"""The generation service's side of the ledger: hold, capture, release (and the older
charge and refund), each keyed by the generation.

Every call is keyed, so repeating it is harmless. A call that never reached a server
(the connection broke; with several replicas the next attempt goes to another) is
repeated here a few times. An answer from the server itself, UNAVAILABLE included, is
final for this attempt: the caller treats it as unknown and recovery asks again later.
"""

from __future__ import annotations

import asyncio
import enum

import grpc

from videogen.credits.v1 import credits_pb2 as pb
from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.errors import InDebt, InsufficientCredits, Unavailable
from videogen_common.grpc_status import RemoteError, parse_rpc_error

from .domain import Generation

TRANSPORT_ATTEMPTS_MAX = 3
TRANSPORT_BACKOFF_S = 0.05


class BillingUnavailable(Unavailable):
    reason = "BILLING_UNAVAILABLE"


class HoldResult(enum.Enum):
    DONE = "done"  # captured, or released
    TIMED_OUT = "timed_out"  # the hold was released by its timeout
    CAPTURED = "captured"  # a release found it captured
    NO_HOLD = "no_hold"


class RefundResult(enum.Enum):
    REFUNDED = "refunded"
    NEVER_CHARGED = "never_charged"


def charge_key(generation_id: str) -> str:
    return f"charge:{generation_id}"


def refund_key(generation_id: str) -> str:
    return f"refund:{generation_id}"


def hold_key(generation_id: str, step: str) -> str:
    return f"{step}:{generation_id}"


def _refused(remote: RemoteError) -> None:
    """Raise the definite refusals of a charge or a hold as our own errors."""
    if remote.reason == "INSUFFICIENT_CREDITS":
        raise InsufficientCredits(
            int(remote.metadata["balance"]), int(remote.metadata["required"])
        ) from None
    if remote.reason == "IN_DEBT":
        raise InDebt(int(remote.metadata["debt"]), int(remote.metadata["required"])) from None


def _never_reached_a_server(remote: RemoteError) -> bool:
    # Our servers always attach an ErrorInfo; a bare UNAVAILABLE comes from the channel.
    return remote.code == grpc.StatusCode.UNAVAILABLE and remote.reason == "UNAVAILABLE"


class CreditsClient:
    def __init__(self, channel: grpc.aio.Channel, token: str, timeout_s: float) -> None:
        self._stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(channel), token)
        self._timeout_s = timeout_s

    async def _call(self, method: str, request) -> object:
        """The RPC, repeated only while it never reached a server; RemoteError otherwise."""
        for attempt in range(1, TRANSPORT_ATTEMPTS_MAX + 1):
            try:
                return await getattr(self._stub, method)(request, timeout=self._timeout_s)
            except grpc.RpcError as error:
                remote = parse_rpc_error(error)
                if not _never_reached_a_server(remote) or attempt == TRANSPORT_ATTEMPTS_MAX:
                    raise _Failed(remote) from None
                await asyncio.sleep(TRANSPORT_BACKOFF_S * attempt)
        raise AssertionError("unreachable")

    async def charge(self, gen: Generation) -> None:
        """Deduct the price once (keyed by the generation); repeat calls are harmless."""
        request = pb.DeductRequest(
            user_id=gen.user_id,
            amount=gen.price,
            reference=gen.id,
            idempotency_key=charge_key(gen.id),
            description=f"{gen.model} {gen.resolution} {gen.duration_s}s",
        )
        for attempt in (1, 2):
            try:
                await self._call("Deduct", request)
                return
            except _Failed as failed:
                remote = failed.remote
                _refused(remote)
                if remote.reason == "UNKNOWN_ACCOUNT" and attempt == 1:
                    await self.ensure_account(gen.user_id)
                    continue
                raise BillingUnavailable(f"charging failed: {remote.code.name}") from None

    async def reserve(self, gen: Generation, timeout_s: int) -> bool:
        """Hold the price (keyed by the generation): a repeat answers the first result.
        False when the generation was charged at once, before holds existed."""
        request = pb.ReserveRequest(
            user_id=gen.user_id,
            amount=gen.price,
            reference=gen.id,
            idempotency_key=hold_key(gen.id, "reserve"),
            timeout_s=timeout_s,
        )
        for attempt in (1, 2):
            try:
                await self._call("Reserve", request)
                return True
            except _Failed as failed:
                remote = failed.remote
                _refused(remote)
                if remote.reason == "REFERENCE_ALREADY_CHARGED":
                    return False
                if remote.reason == "UNKNOWN_ACCOUNT" and attempt == 1:
                    await self.ensure_account(gen.user_id)
                    continue
                raise BillingUnavailable(f"reserving failed: {remote.code.name}") from None
        raise AssertionError("unreachable")

    async def capture(self, gen: Generation) -> HoldResult:
        request = pb.CaptureRequest(
            reference=gen.id,
            amount=gen.price,
            idempotency_key=hold_key(gen.id, "capture"),
            description=f"{gen.model} {gen.resolution} {gen.duration_s}s",
        )
        try:
            await self._call("Capture", request)
            return HoldResult.DONE
        except _Failed as failed:
            reason = failed.remote.reason
            if reason == "HOLD_ALREADY_RELEASED":
                return HoldResult.TIMED_OUT  # we never release a delivered video's hold
            if reason == "HOLD_NOT_FOUND":
                return HoldResult.NO_HOLD
            raise BillingUnavailable(f"capture failed: {failed.remote.code.name}") from None

    async def release(self, gen: Generation, reason: str) -> HoldResult:
        request = pb.ReleaseRequest(
            reference=gen.id, idempotency_key=hold_key(gen.id, "release"), reason=reason[:500]
        )
        try:
            await self._call("Release", request)
            return HoldResult.DONE
        except _Failed as failed:
            code = failed.remote.reason
            if code == "HOLD_ALREADY_RELEASED":
                return HoldResult.DONE  # by its timeout: the same end
            if code == "HOLD_ALREADY_CAPTURED":
                return HoldResult.CAPTURED
            if code == "HOLD_NOT_FOUND":
                return HoldResult.NO_HOLD
            raise BillingUnavailable(f"release failed: {failed.remote.code.name}") from None

    async def ensure_account(self, user_id: str) -> None:
        try:
            await self._call("EnsureAccount", pb.EnsureAccountRequest(user_id=user_id))
        except _Failed as failed:
            raise BillingUnavailable(
                f"opening the account failed: {failed.remote.code.name}"
            ) from None

    async def balance(self, user_id: str) -> tuple[int, int]:
        """(available, debt)."""
        try:
            response = await self._call("GetBalance", pb.GetBalanceRequest(user_id=user_id))
        except _Failed as failed:
            raise BillingUnavailable(f"balance unavailable: {failed.remote.code.name}") from None
        account = response.account  # type: ignore[attr-defined]
        return account.available, account.debt

    async def refund(self, gen: Generation, reason: str) -> RefundResult:
        request = pb.RefundRequest(
            reference=gen.id, idempotency_key=refund_key(gen.id), reason=reason[:500]
        )
        try:
            await self._call("Refund", request)
            return RefundResult.REFUNDED
        except _Failed as failed:
            remote = failed.remote
            if remote.reason == "ALREADY_REFUNDED":
                return RefundResult.REFUNDED
            if remote.reason == "CHARGE_NOT_FOUND":
                return RefundResult.NEVER_CHARGED
            raise BillingUnavailable(f"refund failed: {remote.code.name}") from None


class _Failed(Exception):
    def __init__(self, remote: RemoteError) -> None:
        super().__init__(remote.message)
        self.remote = remote
