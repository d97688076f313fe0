"""What each provider's event means, and how signatures are judged: plain rules, no I/O."""

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from stripe import WebhookSignature

from videogen_webhook_gateway.domain import (
    Ignored,
    Invoice,
    Malformed,
    NotAuthentic,
    PlanChange,
    Purchase,
    Reversal,
    parse_dodo,
    parse_stripe,
)
from videogen_webhook_gateway.verify import Verifier, stripe_verifier

USER = "6f1c1d3e-8a55-4d6b-9d55-2f1b8e0c4a11"


def stripe(kind: str, thing: dict) -> dict:
    return {"id": "evt_1", "type": kind, "data": {"object": thing}}


def test_a_paid_checkout_is_a_purchase_at_what_was_paid():
    event = stripe(
        "checkout.session.completed",
        {
            "id": "cs_1",
            "mode": "payment",
            "payment_status": "paid",
            "payment_intent": "pi_1",
            "amount_total": 500,
            "currency": "usd",
            "client_reference_id": USER,
            "metadata": {"package": "credits_100"},
        },
    )
    assert parse_stripe(event) == Purchase(USER, "credits_100", 500, "usd", "pi_1")


@pytest.mark.parametrize(
    "thing, kind",
    [
        ({"mode": "payment", "payment_status": "unpaid"}, Ignored),
        ({"mode": "subscription", "payment_status": "paid"}, Ignored),
        (
            {
                "mode": "payment",
                "payment_status": "paid",
                "payment_intent": "pi",
                "metadata": {},
                "amount_total": 1,
            },
            Malformed,
        ),  # no user
        (
            {
                "mode": "payment",
                "payment_status": "paid",
                "payment_intent": "pi",
                "client_reference_id": USER,
                "amount_total": "500",
            },
            Malformed,
        ),
    ],
)
def test_checkouts_that_buy_nothing(thing, kind):
    with pytest.raises(kind):
        parse_stripe(stripe("checkout.session.completed", thing))


def test_a_subscription_invoice_names_its_plan_user_and_period():
    invoice = stripe(
        "invoice.paid",
        {
            "id": "in_1",
            "parent": {"subscription_details": {"metadata": {"user_id": USER, "plan": "pro"}}},
            "lines": {"data": [{"period": {"start": 1, "end": 1_800_000_000}}]},
        },
    )
    assert parse_stripe(invoice) == Invoice(
        USER, "pro", "in_1", datetime.fromtimestamp(1_800_000_000, UTC)
    )
    older_api = stripe(
        "invoice.paid",
        {
            "id": "in_2",
            "subscription_details": {"metadata": {"user_id": USER, "plan": "pro"}},
            "lines": {"data": [{"period": {"end": 1_800_000_000}}]},
        },
    )
    assert parse_stripe(older_api).invoice == "in_2"
    with pytest.raises(Ignored):
        parse_stripe(stripe("invoice.paid", {"id": "in_3"}))  # a one-off invoice


def test_subscription_changes_and_ends_set_the_plan():
    active = stripe(
        "customer.subscription.updated",
        {
            "status": "active",
            "metadata": {"user_id": USER, "plan": "starter"},
            "items": {"data": [{"current_period_end": 1_800_000_000}]},
        },
    )
    assert parse_stripe(active) == PlanChange(
        USER, "starter", datetime.fromtimestamp(1_800_000_000, UTC)
    )
    past_due = stripe(
        "customer.subscription.updated",
        {"status": "past_due", "metadata": {"user_id": USER, "plan": "starter"}},
    )
    assert parse_stripe(past_due) == PlanChange(USER, "free", None)
    ended = stripe("customer.subscription.deleted", {"metadata": {"user_id": USER}})
    assert parse_stripe(ended) == PlanChange(USER, "free", None)


def test_refunds_and_disputes_reverse_the_payment():
    refunded = stripe("charge.refunded", {"id": "ch_1", "payment_intent": "pi_1", "refunded": True})
    assert parse_stripe(refunded) == Reversal("pi_1", "refunded")
    disputed = stripe("charge.dispute.created", {"charge": "ch_2"})
    assert parse_stripe(disputed) == Reversal("ch_2", "disputed")
    with pytest.raises(Ignored):
        parse_stripe(stripe("charge.refunded", {"id": "ch_3", "refunded": False}))
    with pytest.raises(Ignored):
        parse_stripe(stripe("customer.created", {}))


def test_dodo_events():
    paid = {
        "type": "payment.succeeded",
        "data": {
            "payment_id": "pay_1",
            "total_amount": 6000,
            "currency": "USD",
            "metadata": {"user_id": USER, "package": "credits_2000"},
        },
    }
    assert parse_dodo(paid) == Purchase(USER, "credits_2000", 6000, "USD", "pay_1")
    renewed = {
        "type": "subscription.renewed",
        "data": {
            "subscription_id": "sub_1",
            "next_billing_date": "2027-01-01T00:00:00Z",
            "metadata": {"user_id": USER, "plan": "pro"},
        },
    }
    parsed = parse_dodo(renewed)
    assert isinstance(parsed, Invoice) and parsed.invoice.startswith("sub_1:2027-01-01")
    assert parse_dodo(
        {"type": "subscription.cancelled", "data": {"metadata": {"user_id": USER}}}
    ) == PlanChange(USER, "free", None)
    assert parse_dodo({"type": "refund.succeeded", "data": {"payment_id": "pay_1"}}) == Reversal(
        "pay_1", "refunded"
    )
    with pytest.raises(Ignored):
        parse_dodo({"type": "payment.succeeded", "data": {"subscription_id": "sub_1"}})
    with pytest.raises(Malformed):
        parse_dodo(
            {
                "type": "subscription.active",
                "data": {
                    "subscription_id": "s",
                    "next_billing_date": "soon",
                    "metadata": {"user_id": USER},
                },
            }
        )


SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _signed(body: str, at: datetime | None = None, secret: str = SECRET) -> dict:
    webhook_id, at = "msg_1", at or datetime.now(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


def test_standard_webhooks_are_verified_on_the_raw_bytes_with_any_current_secret():
    body = json.dumps({"id": "p1", "status": "succeeded"})
    other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    verifier = Verifier([other, SECRET])  # during a rotation
    assert verifier.verify(body.encode(), _signed(body)) == ("msg_1", json.loads(body))
    with pytest.raises(NotAuthentic):
        verifier.verify(body.replace("succeeded", "failed").encode(), _signed(body))
    with pytest.raises(NotAuthentic):
        stale = datetime.now(UTC) - timedelta(minutes=6)
        verifier.verify(body.encode(), _signed(body, stale))
    with pytest.raises(Malformed):
        verifier.verify(body.encode(), {"webhook-id": "x"})
    with pytest.raises(Malformed):
        verifier.verify(b"[1]", _signed("[1]"))  # authentic, but not an object


def test_stripe_signatures():
    verify = stripe_verifier("whsec_test")
    body = json.dumps({"id": "evt_1", "type": "x"})
    header = WebhookSignature.generate_signature_header(body, "whsec_test")
    assert verify(body.encode(), {"Stripe-Signature": header})[0] == "evt_1"
    forged = WebhookSignature.generate_signature_header(body, "whsec_other")
    with pytest.raises(NotAuthentic):
        verify(body.encode(), {"Stripe-Signature": forged})
    with pytest.raises(Malformed):
        verify(body.encode(), {"Stripe-Signature": "t=x,v1=y"})
