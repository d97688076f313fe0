"""What a webhook means, and how it is answered when not acted on. Pure: standard
library only.

Payment events, as the ledger calls they stand for:

Stripe (fields read):
- ``checkout.session.completed`` / ``checkout.session.async_payment_succeeded`` with
  ``mode`` = payment and ``payment_status`` = paid: a purchase of
  ``metadata.package`` by ``client_reference_id`` (or ``metadata.user_id``), paid
  ``amount_total`` in ``currency``; the payment is ``payment_intent`` (or the session id).
- ``invoice.paid`` of a subscription: the period's allotment of ``metadata.plan`` for
  ``metadata.user_id`` (the subscription's metadata, under
  ``parent.subscription_details.metadata`` or ``subscription_details.metadata``), the
  period ending at ``lines.data[0].period.end``; keyed by the invoice ``id``.
- ``customer.subscription.updated`` / ``.deleted``: the account's plan (``metadata.plan``
  while ``status`` is active or trialing, else free) and period end
  (``current_period_end``, or the first item's).
- ``charge.refunded`` (``refunded`` true) and ``charge.dispute.created``: the payment
  ``payment_intent`` (or the charge id) is reversed.

Dodo Payments (fields read):
- ``payment.succeeded`` without ``subscription_id``: a purchase of ``metadata.package``
  by ``metadata.user_id``, ``total_amount`` in ``currency``, payment ``payment_id``.
- ``subscription.active`` / ``subscription.renewed``: the allotment of ``metadata.plan``
  for ``metadata.user_id``, the period ending at ``next_billing_date``; keyed by
  ``subscription_id`` and that date. ``subscription.plan_changed``: the plan.
  ``subscription.cancelled`` / ``.expired`` / ``.failed``: back to free.
- ``refund.succeeded`` and ``dispute.opened``: the payment ``payment_id`` is reversed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class Malformed(Exception):
    """400: not a well-formed webhook, or an event that does not say what it must."""


class NotAuthentic(Exception):
    """401: signature, secret or timestamp do not check out."""


class Ignored(Exception):
    """A verified event this gateway does not act on; acknowledged."""


@dataclass(frozen=True)
class Purchase:
    user_id: str
    package: str
    paid_amount: int
    currency: str
    payment: str


@dataclass(frozen=True)
class Invoice:
    user_id: str
    plan: str
    invoice: str
    period_end: datetime


@dataclass(frozen=True)
class PlanChange:
    user_id: str
    plan: str
    period_end: datetime | None


@dataclass(frozen=True)
class Reversal:
    payment: str
    why: str


PaymentEvent = Purchase | Invoice | PlanChange | Reversal
ACTIVE = ("active", "trialing")
FREE = "free"


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{name} must be an integer")
    return value


def _unix(value: object, name: str) -> datetime:
    return datetime.fromtimestamp(_int(value, name), UTC)


def _iso(value: object, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"{name} must be an ISO date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _who(metadata: dict[str, Any], fallback: object = "") -> str:
    user = _text(fallback) or _text(metadata.get("user_id"))
    if not user:
        raise Malformed("the event names no user (metadata.user_id)")
    return user


def parse_stripe(event: dict[str, Any]) -> PaymentEvent:
    kind = _text(event.get("type"))
    thing = _dict(_dict(event.get("data")).get("object"))
    metadata = _dict(thing.get("metadata"))
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if thing.get("mode") == "subscription":
            raise Ignored("a subscription checkout: its invoice grants the credits")
        if thing.get("payment_status") != "paid":
            raise Ignored("not paid yet")
        payment = _text(thing.get("payment_intent")) or _text(thing.get("id"))
        if not payment:
            raise Malformed("the session names no payment")
        return Purchase(
            _who(metadata, thing.get("client_reference_id")),
            _text(metadata.get("package")),
            _int(thing.get("amount_total"), "amount_total"),
            _text(thing.get("currency")),
            payment,
        )
    if kind == "invoice.paid":
        details = _dict(_dict(thing.get("parent")).get("subscription_details")) or _dict(
            thing.get("subscription_details")
        )
        sub_metadata = _dict(details.get("metadata")) or metadata
        if not (details or thing.get("subscription")):
            raise Ignored("not a subscription's invoice")
        lines = _dict(thing.get("lines")).get("data") or [{}]
        period = _dict(_dict(lines[0]).get("period"))
        return Invoice(
            _who(sub_metadata),
            _text(sub_metadata.get("plan")),
            _text(thing.get("id")),
            _unix(period.get("end"), "period.end"),
        )
    if kind in ("customer.subscription.updated", "customer.subscription.deleted"):
        active = kind.endswith("updated") and thing.get("status") in ACTIVE
        items = _dict(thing.get("items")).get("data") or [{}]
        end = thing.get("current_period_end") or _dict(items[0]).get("current_period_end")
        return PlanChange(
            _who(metadata),
            _text(metadata.get("plan")) if active else FREE,
            _unix(end, "current_period_end") if active and end else None,
        )
    if kind in ("charge.refunded", "charge.dispute.created"):
        if (
            kind == "charge.refunded"
            and thing.get("refunded") is not True
            and not thing.get("amount_refunded")
        ):
            raise Ignored("nothing was refunded")
        payment = _text(thing.get("payment_intent")) or _text(
            thing.get("charge") if kind.endswith("created") else thing.get("id")
        )
        if not payment:
            raise Malformed("the event names no payment")
        return Reversal(payment, "refunded" if kind == "charge.refunded" else "disputed")
    raise Ignored(kind or "no type")


def parse_dodo(event: dict[str, Any]) -> PaymentEvent:
    kind = _text(event.get("type"))
    data = _dict(event.get("data"))
    metadata = _dict(data.get("metadata"))
    if kind == "payment.succeeded":
        if data.get("subscription_id"):
            raise Ignored("a subscription's payment: its subscription event grants")
        payment = _text(data.get("payment_id"))
        if not payment:
            raise Malformed("the payment names no payment_id")
        return Purchase(
            _who(metadata),
            _text(metadata.get("package")),
            _int(data.get("total_amount"), "total_amount"),
            _text(data.get("currency")),
            payment,
        )
    if kind in ("subscription.active", "subscription.renewed"):
        end = _iso(data.get("next_billing_date"), "next_billing_date")
        subscription = _text(data.get("subscription_id"))
        if not subscription:
            raise Malformed("the subscription names no subscription_id")
        return Invoice(
            _who(metadata), _text(metadata.get("plan")), f"{subscription}:{end.isoformat()}", end
        )
    if kind == "subscription.plan_changed":
        return PlanChange(
            _who(metadata),
            _text(metadata.get("plan")),
            _iso(data.get("next_billing_date"), "next_billing_date"),
        )
    if kind in ("subscription.cancelled", "subscription.expired", "subscription.failed"):
        return PlanChange(_who(metadata), FREE, None)
    if kind in ("refund.succeeded", "dispute.opened"):
        payment = _text(data.get("payment_id"))
        if not payment:
            raise Malformed("the event names no payment_id")
        return Reversal(payment, "refunded" if kind.startswith("refund") else "disputed")
    raise Ignored(kind or "no type")
