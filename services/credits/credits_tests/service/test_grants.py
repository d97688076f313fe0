"""Grants: spend order, refunds to the grants they came from, expiry exactly once and
never counted, purchases at their price, reversals and debt, subscription allotments."""

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from videogen.credits.v1 import credits_pb2 as pb
from videogen_common.db import libpq_url

from ..helpers import assert_consistent, entries_of, new_key, new_user, rpc_error


def at(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + timedelta(seconds=seconds))
    return stamp


async def opened(credits) -> str:
    user = new_user()
    await credits.api.EnsureAccount(pb.EnsureAccountRequest(user_id=user))
    return user


async def grant(
    credits,
    user,
    amount,
    source=pb.GRANT_SOURCE_PROMO,
    expires_s=None,
    priority=None,
    reference="",
    caller="payments",
) -> pb.GrantCreditsResponse:
    request = pb.GrantCreditsRequest(
        user_id=user, amount=amount, source=source, reference=reference, idempotency_key=new_key()
    )
    if expires_s is not None:
        request.expires_at.CopyFrom(at(expires_s))
    if priority is not None:
        request.priority = priority
    return await getattr(credits, caller).GrantCredits(request)


async def remaining(credits, user) -> dict[int, int]:
    listed = await credits.api.ListGrants(pb.ListGrantsRequest(user_id=user, include_spent=True))
    return {g.source: g.remaining for g in listed.grants}


async def deduct(credits, user, amount, reference=None):
    return await credits.generation.Deduct(
        pb.DeductRequest(
            user_id=user,
            amount=amount,
            reference=reference or new_key("gen"),
            idempotency_key=new_key(),
        )
    )


def expire_now(credits_db, user, source: str) -> None:
    """Time passes for one kind of grant: its expiry moves to the past."""
    with psycopg.connect(libpq_url(credits_db), autocommit=True) as conn:
        conn.execute(
            "UPDATE credits.grants SET expires_at = now() - interval '1 second'"
            " WHERE user_id = %s AND source = %s",
            (user, source),
        )


async def test_usage_draws_in_spend_order(credits):
    user = await opened(credits)  # signup 100 (priority 20, never expires)
    await grant(credits, user, 30, pb.GRANT_SOURCE_PROMO, expires_s=3600)
    await grant(credits, user, 50, pb.GRANT_SOURCE_SUBSCRIPTION, expires_s=7200, reference="in_1")
    await grant(credits, user, 40, pb.GRANT_SOURCE_PURCHASE, reference="pi_1")
    await deduct(credits, user, 60)
    assert await remaining(credits, user) == {
        pb.GRANT_SOURCE_PROMO: 0,
        pb.GRANT_SOURCE_SUBSCRIPTION: 20,
        pb.GRANT_SOURCE_SIGNUP: 100,
        pb.GRANT_SOURCE_PURCHASE: 40,
    }
    await deduct(credits, user, 130)
    assert await remaining(credits, user) == {
        pb.GRANT_SOURCE_PROMO: 0,
        pb.GRANT_SOURCE_SUBSCRIPTION: 0,
        pb.GRANT_SOURCE_SIGNUP: 0,
        pb.GRANT_SOURCE_PURCHASE: 30,
    }
    await assert_consistent(credits, user)


async def test_a_priority_wins_over_expiry_and_expiry_over_age(credits):
    user = await opened(credits)
    await grant(credits, user, 10, pb.GRANT_SOURCE_PROMO, expires_s=600, priority=50)
    await grant(credits, user, 10, pb.GRANT_SOURCE_PROMO, expires_s=60, priority=50)
    await grant(credits, user, 10, pb.GRANT_SOURCE_ADMIN, priority=90, caller="admin")
    await deduct(credits, user, 15)
    listed = await credits.api.ListGrants(pb.ListGrantsRequest(user_id=user))
    left = {
        (g.priority, g.expires_at.seconds if g.HasField("expires_at") else 0): g.remaining
        for g in listed.grants
    }
    assert sorted(left.values()) == [5, 10, 100]  # admin 10 gone, then the sooner promo 5
    assert left[min(k for k in left if k[1])] == 5  # the sooner of the two went first


async def test_a_refund_gives_back_to_the_same_grants_and_expired_shares_expire(
    credits, credits_db
):
    user = await opened(credits)
    await grant(credits, user, 30, pb.GRANT_SOURCE_PROMO, expires_s=3600)
    charged = await deduct(credits, user, 50, reference="gen-r")  # promo 30 + signup 20
    expire_now(credits_db, user, "promo")
    refunded = await credits.generation.Refund(
        pb.RefundRequest(reference="gen-r", idempotency_key=new_key())
    )
    assert charged.balance == 80 and refunded.entry.amount == 50
    assert await remaining(credits, user) == {pb.GRANT_SOURCE_PROMO: 0, pb.GRANT_SOURCE_SIGNUP: 100}
    kinds = [(e.kind, e.amount) for e in await entries_of(credits, user)]
    assert kinds[:2] == [(pb.ENTRY_KIND_EXPIRY, -30), (pb.ENTRY_KIND_REFUND, 50)]
    balance = (await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))).account
    assert (balance.available, balance.total) == (100, 100)
    await assert_consistent(credits, user)


async def test_expired_credits_are_never_available_and_leave_once(credits, credits_app, credits_db):
    user = await opened(credits)
    await grant(credits, user, 25, pb.GRANT_SOURCE_PROMO, expires_s=3600)
    expire_now(credits_db, user, "promo")
    account = (await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))).account
    assert account.available == 100  # before any sweep
    error = await rpc_error(deduct(credits, user, 101))
    assert error.reason == "INSUFFICIENT_CREDITS" and error.metadata["balance"] == "100"
    # Two replicas' sweeps at once, and again: one expiry entry.
    results = await asyncio.gather(*(credits_app.sweeper.run_once() for _ in range(3)))
    results.append(await credits_app.sweeper.run_once())
    assert sum(grants for grants, _ in results) == 1
    expiries = [e for e in await entries_of(credits, user) if e.kind == pb.ENTRY_KIND_EXPIRY]
    assert [e.amount for e in expiries] == [-25]
    await assert_consistent(credits, user)


async def test_concurrent_usage_over_many_grants_never_overdraws(credits):
    user = await opened(credits)
    for i in range(10):
        await grant(credits, user, 10, pb.GRANT_SOURCE_PROMO, expires_s=3600 + i)
    results = await asyncio.gather(
        *(deduct(credits, user, 3) for _ in range(200)), return_exceptions=True
    )
    done = [r for r in results if not isinstance(r, Exception)]
    assert len(done) == 66  # 200 credits, 3 each
    listed = await credits.api.ListGrants(pb.ListGrantsRequest(user_id=user, include_spent=True))
    assert all(0 <= g.remaining <= g.amount for g in listed.grants)
    assert sum(g.remaining for g in listed.grants) == 200 - 3 * len(done)
    await assert_consistent(credits, user)


async def test_a_purchase_is_credited_only_at_its_price_and_opens_the_account(credits):
    user = new_user()  # never called the API
    request = pb.RecordPurchaseRequest(
        user_id=user,
        package="credits_500",
        paid_amount=1999,
        currency="usd",
        payment_reference="pi_low",
        idempotency_key="stripe:pi_low",
        provider="stripe",
    )
    error = await rpc_error(credits.payments.RecordPurchase(request))
    assert (error.code, error.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PRICE_MISMATCH")
    request.paid_amount, request.payment_reference = 2000, "pi_ok"
    request.idempotency_key = "stripe:pi_ok"
    bought = await credits.payments.RecordPurchase(request)
    again = await credits.payments.RecordPurchase(request)
    assert (bought.balance, again.replayed) == (600, True)
    wrong_currency = pb.RecordPurchaseRequest(
        user_id=user,
        package="credits_500",
        paid_amount=2000,
        currency="eur",
        payment_reference="pi_eur",
        idempotency_key="stripe:pi_eur",
    )
    assert (
        await rpc_error(credits.payments.RecordPurchase(wrong_currency))
    ).reason == "PRICE_MISMATCH"
    await assert_consistent(credits, user)


async def test_a_reversal_takes_back_what_is_left_and_the_rest_is_debt(credits):
    user = await opened(credits)
    await credits.payments.RecordPurchase(
        pb.RecordPurchaseRequest(
            user_id=user,
            package="credits_100",
            paid_amount=500,
            currency="usd",
            payment_reference="pi_r",
            idempotency_key="stripe:pi_r",
        )
    )
    await deduct(credits, user, 150)  # signup 100 first, then 50 of the purchase
    reversed_ = await credits.payments.ReversePayment(
        pb.ReversePaymentRequest(
            payment_reference="pi_r", idempotency_key="stripe-reversal:pi_r", reason="refunded"
        )
    )
    assert (reversed_.entry.amount, reversed_.debt, reversed_.balance) == (-50, 50, 0)
    replayed = await credits.payments.ReversePayment(
        pb.ReversePaymentRequest(
            payment_reference="pi_r", idempotency_key="stripe-reversal:pi_r", reason="disputed"
        )
    )
    assert replayed.replayed and replayed.debt == 50
    assert (
        await rpc_error(
            credits.payments.ReversePayment(
                pb.ReversePaymentRequest(payment_reference="pi_nope", idempotency_key=new_key())
            )
        )
    ).reason == "PAYMENT_NOT_FOUND"
    in_debt = await rpc_error(deduct(credits, user, 1))
    assert (in_debt.reason, in_debt.metadata["debt"]) == ("IN_DEBT", "50")
    paid = await grant(credits, user, 80, pb.GRANT_SOURCE_ADMIN, caller="admin")
    account = (await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))).account
    assert (account.debt, account.available, paid.balance) == (0, 30, 30)
    await deduct(credits, user, 30)
    await assert_consistent(credits, user)


async def test_a_second_reversal_under_another_key_is_refused(credits):
    user = await opened(credits)
    await credits.payments.RecordPurchase(
        pb.RecordPurchaseRequest(
            user_id=user,
            package="credits_100",
            paid_amount=500,
            currency="usd",
            payment_reference="pi_2",
            idempotency_key="stripe:pi_2",
        )
    )
    await credits.payments.ReversePayment(
        pb.ReversePaymentRequest(payment_reference="pi_2", idempotency_key="k-refund")
    )
    error = await rpc_error(
        credits.payments.ReversePayment(
            pb.ReversePaymentRequest(
                payment_reference="pi_2", idempotency_key="k-dispute", reason="disputed"
            )
        )
    )
    assert error.reason == "ALREADY_REVERSED"
    assert (
        await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))
    ).account.available == 100


async def test_an_invoice_grants_its_period_once_and_rolls_over_up_to_the_cap(credits):
    user = new_user()
    first = pb.ApplySubscriptionInvoiceRequest(
        user_id=user,
        plan="starter",
        invoice_reference="in_1",
        period_end=at(30 * 86400),
        idempotency_key="stripe-invoice:in_1",
    )
    applied = await credits.payments.ApplySubscriptionInvoice(first)
    replay = await credits.payments.ApplySubscriptionInvoice(first)
    assert (applied.account.available, applied.account.plan) == (400, "starter")
    assert replay.replayed and replay.account.available == 400
    await deduct(credits, user, 100 + 50)  # the allotment (priority 30) goes first: 150 left
    period_two = at(60 * 86400)
    second = pb.ApplySubscriptionInvoiceRequest(
        user_id=user,
        plan="starter",
        invoice_reference="in_2",
        period_end=period_two,
        idempotency_key="stripe-invoice:in_2",
    )
    renewed = await credits.payments.ApplySubscriptionInvoice(second)
    # 150 unused, the cap carries 100, 50 expire now; the new period brings 300.
    assert renewed.account.available == 100 + 100 + 300
    kinds = [(e.kind, e.amount) for e in await entries_of(credits, user)]
    assert (pb.ENTRY_KIND_EXPIRY, -50) in kinds
    upgrade = pb.ApplySubscriptionInvoiceRequest(
        user_id=user,
        plan="pro",
        invoice_reference="in_3",
        period_end=period_two,
        idempotency_key="stripe-invoice:in_3",
    )
    upgraded = await credits.payments.ApplySubscriptionInvoice(upgrade)
    assert upgraded.account.available == 500 + 900  # topped up to pro's 1200
    assert upgraded.account.plan == "pro"
    await assert_consistent(credits, user)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"priority": 101}, "priority"),
        ({"priority": -1}, "priority"),
        ({"expires_s": -10}, "expires_at"),
        ({"source": pb.GRANT_SOURCE_SIGNUP}, "source"),
        ({"source": pb.GRANT_SOURCE_PURCHASE, "reference": ""}, "reference"),
    ],
)
async def test_bad_grants_name_the_field_and_change_nothing(credits, change, field):
    user = await opened(credits)
    values = dict(
        amount=10, source=pb.GRANT_SOURCE_PROMO, expires_s=None, priority=None, reference="r"
    )
    values.update(change)
    error = await rpc_error(
        grant(
            credits,
            user,
            values["amount"],
            values["source"],
            values["expires_s"],
            values["priority"],
            values["reference"],
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in [v.field for v in error.violations]
    assert len(await entries_of(credits, user)) == 1


async def test_paid_credits_come_only_from_payments(credits):
    user = await opened(credits)
    error = await rpc_error(
        grant(credits, user, 10, pb.GRANT_SOURCE_PURCHASE, reference="x", caller="admin")
    )
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    error = await rpc_error(grant(credits, user, 10, pb.GRANT_SOURCE_ADMIN))
    assert error.code == grpc.StatusCode.PERMISSION_DENIED


async def test_unknown_plan_and_package_are_refused(credits):
    user = new_user()
    error = await rpc_error(
        credits.payments.ApplySubscriptionInvoice(
            pb.ApplySubscriptionInvoiceRequest(
                user_id=user,
                plan="gold",
                invoice_reference="i",
                period_end=at(60),
                idempotency_key="k",
            )
        )
    )
    assert [v.field for v in error.violations] == ["plan"]
    error = await rpc_error(
        credits.payments.RecordPurchase(
            pb.RecordPurchaseRequest(
                user_id=user,
                package="credits_9",
                paid_amount=1,
                currency="usd",
                payment_reference="p",
                idempotency_key="k2",
            )
        )
    )
    assert [v.field for v in error.violations] == ["package"]
