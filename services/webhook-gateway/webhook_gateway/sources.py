"""What each webhook source means: Replicate news for a generation, paid checkouts for
credits. Verification of each lives beside it; the pipeline is app.Endpoint."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aiohttp import web
from stripe import SignatureVerificationError
from stripe import WebhookSignature

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb

from .app import Ignored
from .verify import Malformed, NotAuthentic

STRIPE_TOLERANCE_S = 300
_STRIPE_HEADER = re.compile(r"^t=\d{1,12}(,[a-z0-9]{1,8}=[0-9a-zA-Z_]{1,256})+$")
STRIPE_PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


class ReplicateAction:
    def __init__(self, generation_stub, timeout_s: float) -> None:
        self._stub, self._timeout_s = generation_stub, timeout_s

    async def __call__(self, data: dict, request: web.Request, body: bytes) -> str:
        reply = await self._stub.ApplyProviderUpdate(
            gpb.ApplyProviderUpdateRequest(
                generation_id=request.query.get("generation_id", "")[:64],
                prediction_json=body),
            timeout=self._timeout_s)
        return "applied" if reply.applied else "ignored"


def stripe_verifier(secret: str):
    """Stripe-Signature (t=…,v1=…): hex HMAC-SHA256 over "t.body", checked by `stripe`."""
    def verify(body: bytes, headers: Mapping[str, str]) -> tuple[str, dict]:
        header = headers.get("Stripe-Signature")
        if not header:
            raise Malformed("missing Stripe-Signature header")
        if not _STRIPE_HEADER.match(header):
            raise Malformed("Stripe-Signature must look like t=<unix seconds>,v1=<hex>")
        try:
            WebhookSignature.verify_header(body, header, secret, STRIPE_TOLERANCE_S)
        except SignatureVerificationError as error:
            raise NotAuthentic(str(error).split(".")[0]) from None
        except (ValueError, IndexError, UnicodeDecodeError):
            raise Malformed("unreadable Stripe-Signature header or body") from None
        try:
            event = json.loads(body)
        except ValueError:
            raise Malformed("body is not JSON") from None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise Malformed("body must be a Stripe event object")
        return event["id"], event
    return verify


class PurchaseAction:
    """Adds a package's credits once per payment (the key is the payment's id)."""

    def __init__(self, provider: str, packages: Mapping[str, int], credits_stub,
                 timeout_s: float) -> None:
        self._provider, self._packages = provider, packages
        self._stub, self._timeout_s = credits_stub, timeout_s

    def _purchase(self, data: dict) -> tuple[str, str, dict]:
        """(payment id, user id, metadata) of a paid purchase, or Ignored."""
        if self._provider == "stripe":
            if data.get("type") not in STRIPE_PAID_EVENTS:
                raise Ignored(str(data.get("type")))
            session = (data.get("data") or {}).get("object") or {}
            if session.get("payment_status") != "paid":
                raise Ignored("not paid yet")
            metadata = session.get("metadata") or {}
            user = session.get("client_reference_id") or metadata.get("user_id")
            return str(session.get("id") or ""), str(user or ""), metadata
        if data.get("type") != "payment.succeeded":
            raise Ignored(str(data.get("type")))
        payment = data.get("data") or {}
        metadata = payment.get("metadata") or {}
        return str(payment.get("payment_id") or ""), str(metadata.get("user_id") or ""), metadata

    async def __call__(self, data: dict, request: web.Request, body: bytes) -> str:
        payment_id, user_id, metadata = self._purchase(data)
        package = str(metadata.get("package") or "")
        if not payment_id or not user_id:
            raise Malformed("the payment names no id or no user")
        if package not in self._packages:
            raise Malformed(f"unknown credit package {package!r}")
        amount = self._packages[package]
        await self._stub.Add(cpb.AddRequest(
            user_id=user_id, amount=amount, kind=cpb.ENTRY_KIND_PURCHASE,
            idempotency_key=f"{self._provider}:{payment_id}", reference=payment_id[:200],
            description=f"{amount} credits ({package})", actor=self._provider),
            timeout=self._timeout_s)
        return "credited"
