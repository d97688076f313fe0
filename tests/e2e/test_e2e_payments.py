"""Paid checkouts add credits once: Stripe (signed with the stripe package's helper) and
Dodo Payments (Standard Webhooks)."""

import json
import secrets
from datetime import UTC, datetime

import aiohttp
import pytest
from standardwebhooks import Webhook
from stripe import WebhookSignature

PRICES = {"credits_100": 500, "credits_500": 2000, "credits_2000": 6000}


def stripe_event(
    event_type: str,
    session_id: str,
    user: str,
    package: str = "credits_500",
    paid: str = "paid",
    amount: int | None = None,
    currency: str = "usd",
) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{secrets.token_hex(8)}",
            "object": "event",
            "type": event_type,
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": "payment",
                    "client_reference_id": user,
                    "payment_status": paid,
                    "payment_intent": f"pi_{session_id}",
                    "amount_total": PRICES.get(package, 100) if amount is None else amount,
                    "currency": currency,
                    "metadata": {"package": package},
                }
            },
        }
    ).encode()


async def post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    headers = {"content-type": "application/json", **headers}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)


def stripe_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict:
    return {
        "Stripe-Signature": WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=timestamp
        )
    }


async def test_a_paid_checkout_adds_the_package_once(stack, funded_user, ledger, payment_secrets):
    user = await funded_user(100)
    url = f"{stack.gateway_app.base_url}/api/webhooks/stripe"
    completed = stripe_event("checkout.session.completed", "cs_test_1", user)
    async_paid = stripe_event("checkout.session.async_payment_succeeded", "cs_test_1", user)
    for body in (completed, completed, completed, async_paid):
        status, payload = await post(url, body, stripe_headers(payment_secrets["stripe"], body))
        assert status == 200, payload
    balance, entries = await ledger(user)
    purchases = [e for e in entries if e.reference == "pi_cs_test_1"]
    assert balance == 600 and len(purchases) == 1 and purchases[0].actor == "stripe"


@pytest.mark.parametrize(
    "case, status",
    [
        ("unpaid", 200),
        ("other event", 200),
        ("unknown package", 400),
        ("no user", 400),
        ("forged", 401),
        ("stale", 401),
        ("no header", 400),
        ("garbled header", 400),
    ],
)
async def test_stripe_refusals_and_ignored_events_add_nothing(
    stack, funded_user, ledger, payment_secrets, case, status
):
    user = await funded_user(100)
    secret = payment_secrets["stripe"]
    body = stripe_event("checkout.session.completed", f"cs_{case}", user)
    headers = stripe_headers(secret, body)
    if case == "unpaid":
        body = stripe_event("checkout.session.completed", "cs_u", user, paid="unpaid")
        headers = stripe_headers(secret, body)
    elif case == "other event":
        body = stripe_event("invoice.paid", "cs_o", user)
        headers = stripe_headers(secret, body)
    elif case == "unknown package":
        body = stripe_event("checkout.session.completed", "cs_p", user, package="gold")
        headers = stripe_headers(secret, body)
    elif case == "no user":
        body = stripe_event("checkout.session.completed", "cs_n", "")
        headers = stripe_headers(secret, body)
    elif case == "forged":
        headers = stripe_headers("whsec_someone_else", body)
    elif case == "stale":
        headers = stripe_headers(secret, body, timestamp=int(datetime.now().timestamp()) - 301)
    elif case == "no header":
        headers = {}
    elif case == "garbled header":
        headers = {"Stripe-Signature": "t=notanumber,v1=abc"}
    answer, payload = await post(f"{stack.gateway_app.base_url}/api/webhooks/stripe", body, headers)
    assert answer == status, payload
    assert (await ledger(user))[0] == 100


async def test_dodo_payment_succeeded_adds_credits_once(
    stack, funded_user, ledger, payment_secrets
):
    user = await funded_user(100)
    body = json.dumps(
        {
            "type": "payment.succeeded",
            "business_id": "biz_1",
            "data": {
                "payment_id": "pay_123",
                "total_amount": 6000,
                "currency": "USD",
                "metadata": {"user_id": user, "package": "credits_2000"},
            },
        }
    )
    webhook = Webhook(payment_secrets["dodo"])
    url = f"{stack.gateway_app.base_url}/api/webhooks/dodo"
    for _ in range(2):  # two deliveries with different ids: still one purchase
        webhook_id = f"msg_{secrets.token_hex(6)}"
        now = datetime.now(UTC)
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(webhook_id, now, body),
        }
        status, payload = await post(url, body.encode(), headers)
        assert status == 200, payload
    assert (await ledger(user))[0] == 2100


async def test_readiness_reflects_the_upstreams(stack, wait_for):
    async with aiohttp.ClientSession() as session:

        async def ready():
            async with session.get(f"{stack.gateway_app.base_url}/api/webhooks/health") as r:
                return (r.status, await r.json()) == (
                    200,
                    {"status": "ready", "upstreams": {"generation": True, "credits": True}},
                )

        await wait_for(ready)  # credits reports SERVING once it has reached its database
        await stack.credits_app.stop(0)
        async with session.get(f"{stack.gateway_app.base_url}/api/webhooks/health") as r:
            assert r.status == 503
            assert (await r.json())["upstreams"]["credits"] is False
        async with session.get(f"{stack.gateway_app.base_url}/health") as r:
            assert r.status == 200
