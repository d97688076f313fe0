"""Subscriptions and reversals end to end, over signed Stripe events: an invoice grants
its period's allotment once, the allotment expires with its period, a refunded
purchase takes back what is left and leaves a debt that refuses new generations."""

import json
import secrets
import time
import uuid

import aiohttp
from stripe import WebhookSignature

from videogen.credits.v1 import credits_pb2 as cpb

PROMPT = "a red fox running through fresh snow"


def _event(event_type: str, thing: dict) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{secrets.token_hex(8)}",
            "object": "event",
            "type": event_type,
            "data": {"object": thing},
        }
    ).encode()


async def _send(stack, secret, body: bytes) -> tuple[int, dict]:
    headers = {
        "content-type": "application/json",
        "Stripe-Signature": WebhookSignature.generate_signature_header(body.decode(), secret),
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{stack.gateway_app.base_url}/api/webhooks/stripe", data=body, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)


def _invoice(invoice_id: str, user: str, plan: str, period_end: int) -> bytes:
    return _event(
        "invoice.paid",
        {
            "id": invoice_id,
            "object": "invoice",
            "billing_reason": "subscription_cycle",
            "parent": {"subscription_details": {"metadata": {"user_id": user, "plan": plan}}},
            "lines": {"data": [{"period": {"start": period_end - 30 * 86400, "end": period_end}}]},
        },
    )


async def _account(stack, user) -> cpb.Account:
    return (await stack.credits_api.GetBalance(cpb.GetBalanceRequest(user_id=user))).account


async def test_a_paid_invoice_grants_the_allotment_once_and_it_expires_with_its_period(
    stack, payment_secrets, ledger, wait_for
):
    user = str(uuid.uuid4())  # never called the API: the invoice opens the account
    ends = int(time.time()) + 5  # room for two webhooks on a loaded machine
    first = _invoice("in_e2e_1", user, "starter", ends)
    answers = [await _send(stack, payment_secrets["stripe"], first)]
    # The same invoice under another event id: credited once.
    again = _invoice("in_e2e_1", user, "starter", ends)
    answers.append(await _send(stack, payment_secrets["stripe"], again))
    assert [(s, b["outcome"]) for s, b in answers] == [(200, "credited"), (200, "duplicate")]
    account = await _account(stack, user)
    assert (account.available, account.plan) == (100 + 300, "starter")

    async def expired() -> bool:  # once the period (and the test's zero grace) is over
        # Balances leave expired grants out at once; the sweep writes their entry.
        await stack.credits_app.sweeper.run_once()
        listed = await stack.credits_api.ListTransactions(
            cpb.ListTransactionsRequest(user_id=user, page_size=200)
        )
        return any(e.kind == cpb.ENTRY_KIND_EXPIRY for e in listed.entries)

    await wait_for(expired)
    balance, entries = await ledger(user)
    assert balance == 100
    assert [e.amount for e in entries if e.kind == cpb.ENTRY_KIND_EXPIRY] == [-300]


async def test_a_refunded_purchase_takes_back_what_is_left_and_leaves_a_debt(
    stack, api, payment_secrets, ledger
):
    user = str(uuid.uuid4())
    checkout = _event(
        "checkout.session.completed",
        {
            "id": "cs_e2e_r",
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "payment_intent": "pi_e2e_r",
            "amount_total": 500,
            "currency": "usd",
            "client_reference_id": user,
            "metadata": {"package": "credits_100"},
        },
    )
    status, body = await _send(stack, payment_secrets["stripe"], checkout)
    assert (status, body["outcome"]) == (200, "credited")
    await stack.credits_admin.Add(
        cpb.AddRequest(
            user_id=user,
            amount=-150,
            kind=cpb.ENTRY_KIND_ADMIN_ADJUSTMENT,
            idempotency_key=f"spend-{user}",
            actor="tests",
            description="spend 150",
        )
    )
    refunded = _event(
        "charge.refunded",
        {
            "id": "ch_e2e_r",
            "object": "charge",
            "payment_intent": "pi_e2e_r",
            "refunded": True,
            "amount_refunded": 500,
        },
    )
    status, body = await _send(stack, payment_secrets["stripe"], refunded)
    assert (status, body["outcome"]) == (200, "reversed")
    disputed = _event(
        "charge.dispute.created", {"id": "dp_1", "object": "dispute", "payment_intent": "pi_e2e_r"}
    )
    status, body = await _send(stack, payment_secrets["stripe"], disputed)
    assert (status, body["outcome"]) == (200, "duplicate")  # reversed once
    account = await _account(stack, user)
    assert (account.available, account.debt) == (0, 50)
    status, refused, _ = await api.call(
        "POST", "/api/generation/text-to-video", user, json={"prompt": PROMPT, "resolution": "480p"}
    )
    assert (status, refused["debt"]) == (402, 50)
    status, me, _ = await api.call("GET", "/api/users/me", user)
    assert me["debt"] == 50
    balance, entries = await ledger(user)
    assert [e.kind for e in entries][0] == cpb.ENTRY_KIND_REVERSAL


async def test_a_purchase_at_the_wrong_price_credits_nothing(stack, payment_secrets):
    user = str(uuid.uuid4())
    cheap = _event(
        "checkout.session.completed",
        {
            "id": "cs_e2e_c",
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "payment_intent": "pi_e2e_c",
            "amount_total": 1,
            "currency": "usd",
            "client_reference_id": user,
            "metadata": {"package": "credits_2000"},
        },
    )
    status, body = await _send(stack, payment_secrets["stripe"], cheap)
    assert status == 400 and "nothing credited" in body["detail"]


async def test_plan_changes_follow_the_subscription(stack, payment_secrets):
    user = str(uuid.uuid4())
    await stack.credits_api.EnsureAccount(cpb.EnsureAccountRequest(user_id=user))
    period_end = int(time.time()) + 30 * 86400
    updated = _event(
        "customer.subscription.updated",
        {
            "id": "sub_1",
            "object": "subscription",
            "status": "active",
            "metadata": {"user_id": user, "plan": "pro"},
            "items": {"data": [{"current_period_end": period_end}]},
        },
    )
    status, body = await _send(stack, payment_secrets["stripe"], updated)
    assert (status, body["outcome"]) == (200, "plan_changed")
    account = await _account(stack, user)
    assert (account.plan, account.plan_period_end.seconds) == ("pro", period_end)
    deleted = _event(
        "customer.subscription.deleted",
        {
            "id": "sub_1",
            "object": "subscription",
            "status": "canceled",
            "metadata": {"user_id": user, "plan": "pro"},
        },
    )
    await _send(stack, payment_secrets["stripe"], deleted)
    assert (await _account(stack, user)).plan == "free"
