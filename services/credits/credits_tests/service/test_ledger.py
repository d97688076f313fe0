"""The ledger's RPCs through a real server on real PostgreSQL."""

import asyncio

import grpc

from videogen.credits.v1 import credits_pb2 as pb

from ..helpers import (
    account_with,
    assert_consistent,
    balance_of,
    entries_of,
    new_key,
    new_user,
    rpc_error,
)


async def test_ensure_account_grants_signup_credits_exactly_once(credits):
    user = new_user()
    responses = await asyncio.gather(
        *(credits.api.EnsureAccount(pb.EnsureAccountRequest(user_id=user)) for _ in range(20))
    )
    assert sum(r.created for r in responses) == 1
    assert {r.account.balance for r in responses} == {100}
    entries = await entries_of(credits, user)
    assert [(e.kind, e.amount) for e in entries] == [(pb.ENTRY_KIND_SIGNUP_GRANT, 100)]
    await assert_consistent(credits, user)


async def test_get_balance_reports_plan_and_low_balance(credits):
    user = await account_with(credits, 4)
    account = (await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))).account
    assert (account.balance, account.plan, account.low_balance) == (4, "free", True)
    user = await account_with(credits, 5)
    account = (await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))).account
    assert account.low_balance is False


async def test_deduct_records_usage_and_replays_first_result(credits):
    user = await account_with(credits, 30)
    request = pb.DeductRequest(
        user_id=user,
        amount=10,
        reference="gen-a",
        idempotency_key=new_key(),
        description="t2v-14B 480p",
    )
    first = await credits.generation.Deduct(request)
    again = await credits.generation.Deduct(request)
    assert (first.balance, first.replayed, first.entry.amount) == (20, False, -10)
    assert (again.balance, again.replayed, again.entry.id) == (20, True, first.entry.id)
    assert first.entry.actor == "generation" and first.entry.reference == "gen-a"
    assert await balance_of(credits, user) == 20
    await assert_consistent(credits, user)


async def test_insufficient_credits_is_failed_precondition_with_balance_and_price(credits):
    user = await account_with(credits, 7)
    error = await rpc_error(
        credits.generation.Deduct(
            pb.DeductRequest(user_id=user, amount=10, reference="gen-b", idempotency_key=new_key())
        )
    )
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "INSUFFICIENT_CREDITS"
    assert error.metadata == {"balance": "7", "required": "10"}
    assert await balance_of(credits, user) == 7
    await assert_consistent(credits, user)


async def test_a_refusal_is_replayed_even_after_the_balance_grows(credits):
    user = await account_with(credits, 5)
    request = pb.DeductRequest(
        user_id=user, amount=10, reference="gen-c", idempotency_key=new_key()
    )
    first = await rpc_error(credits.generation.Deduct(request))
    await credits.payments.Add(
        pb.AddRequest(
            user_id=user, amount=100, kind=pb.ENTRY_KIND_PURCHASE, idempotency_key=new_key()
        )
    )
    second = await rpc_error(credits.generation.Deduct(request))
    assert first.reason == second.reason == "INSUFFICIENT_CREDITS"
    assert second.metadata == {"balance": "5", "required": "10"}
    assert await balance_of(credits, user) == 105


async def test_same_key_other_parameters_is_already_exists(credits):
    user = await account_with(credits, 50)
    key = new_key()
    await credits.generation.Deduct(
        pb.DeductRequest(user_id=user, amount=10, reference="gen-d", idempotency_key=key)
    )
    error = await rpc_error(
        credits.generation.Deduct(
            pb.DeductRequest(user_id=user, amount=11, reference="gen-d", idempotency_key=key)
        )
    )
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert error.reason == "IDEMPOTENCY_KEY_REUSED"
    assert [v.field for v in error.violations] == ["idempotency_key"]
    assert await balance_of(credits, user) == 40


async def test_a_reference_is_charged_once_even_under_another_key(credits):
    user = await account_with(credits, 50)
    await credits.generation.Deduct(
        pb.DeductRequest(user_id=user, amount=10, reference="gen-e", idempotency_key=new_key())
    )
    error = await rpc_error(
        credits.generation.Deduct(
            pb.DeductRequest(user_id=user, amount=10, reference="gen-e", idempotency_key=new_key())
        )
    )
    assert (error.code, error.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "REFERENCE_ALREADY_CHARGED",
    )
    assert await balance_of(credits, user) == 40
    await assert_consistent(credits, user)


async def test_refund_returns_exactly_the_charge_once(credits):
    user = await account_with(credits, 50)
    await credits.generation.Deduct(
        pb.DeductRequest(user_id=user, amount=20, reference="gen-f", idempotency_key=new_key())
    )
    key = new_key()
    first = await credits.generation.Refund(
        pb.RefundRequest(reference="gen-f", idempotency_key=key, reason="provider failed")
    )
    replay = await credits.generation.Refund(
        pb.RefundRequest(reference="gen-f", idempotency_key=key, reason="provider failed")
    )
    other_key = await rpc_error(
        credits.generation.Refund(pb.RefundRequest(reference="gen-f", idempotency_key=new_key()))
    )
    assert (first.entry.amount, first.balance, first.entry.kind) == (20, 50, pb.ENTRY_KIND_REFUND)
    assert replay.replayed and replay.entry.id == first.entry.id
    assert (other_key.code, other_key.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "ALREADY_REFUNDED",
    )
    assert await balance_of(credits, user) == 50
    await assert_consistent(credits, user)


async def test_refund_of_an_unknown_reference_changes_nothing(credits):
    user = await account_with(credits, 50)
    error = await rpc_error(
        credits.generation.Refund(
            pb.RefundRequest(reference="never-charged", idempotency_key=new_key())
        )
    )
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "CHARGE_NOT_FOUND")
    assert await balance_of(credits, user) == 50
    assert len(await entries_of(credits, user)) == 2


async def test_paid_plan_is_not_charged_but_usage_is_recorded(credits):
    user = await account_with(credits, 3)
    plan = await credits.admin.SetPlan(pb.SetPlanRequest(user_id=user, plan="unlimited"))
    assert plan.account.unlimited and not plan.account.low_balance
    charged = await credits.generation.Deduct(
        pb.DeductRequest(user_id=user, amount=25, reference="gen-g", idempotency_key=new_key())
    )
    assert (charged.balance, charged.entry.amount) == (3, 0)
    refunded = await credits.generation.Refund(
        pb.RefundRequest(reference="gen-g", idempotency_key=new_key())
    )
    assert (refunded.balance, refunded.entry.amount) == (3, 0)
    await assert_consistent(credits, user)


async def test_unknown_plan_is_refused(credits):
    user = await account_with(credits, 3)
    error = await rpc_error(credits.admin.SetPlan(pb.SetPlanRequest(user_id=user, plan="gold")))
    assert [v.field for v in error.violations] == ["plan"]


async def test_add_kinds_record_actor_and_reason(credits):
    user = await account_with(credits, 10)
    bought = await credits.payments.Add(
        pb.AddRequest(
            user_id=user,
            amount=500,
            kind=pb.ENTRY_KIND_PURCHASE,
            idempotency_key=new_key(),
            reference="cs_test_123",
            description="500 credits",
        )
    )
    granted = await credits.admin.Add(
        pb.AddRequest(
            user_id=user,
            amount=5,
            kind=pb.ENTRY_KIND_GRANT,
            idempotency_key=new_key(),
            actor="admin-7",
            description="promo",
        )
    )
    taken = await credits.admin.Add(
        pb.AddRequest(
            user_id=user,
            amount=-15,
            kind=pb.ENTRY_KIND_ADMIN_ADJUSTMENT,
            idempotency_key=new_key(),
            actor="admin-7",
            description="chargeback",
        )
    )
    assert (bought.balance, granted.balance, taken.balance) == (510, 515, 500)
    assert (bought.entry.actor, bought.entry.reference) == ("payments", "cs_test_123")
    assert (taken.entry.actor, taken.entry.description) == ("admin-7", "chargeback")
    error = await rpc_error(
        credits.admin.Add(
            pb.AddRequest(
                user_id=user,
                amount=-501,
                kind=pb.ENTRY_KIND_ADMIN_ADJUSTMENT,
                idempotency_key=new_key(),
                actor="admin-7",
                description="too much",
            )
        )
    )
    assert error.reason == "INSUFFICIENT_CREDITS"
    await assert_consistent(credits, user)


async def test_transactions_are_paged_newest_first_without_gaps(credits):
    user = await account_with(credits, 100)
    for i in range(7):
        await credits.generation.Deduct(
            pb.DeductRequest(
                user_id=user, amount=1, reference=f"page-{user}-{i}", idempotency_key=new_key()
            )
        )
    seen, token = [], ""
    while True:
        page = await credits.api.ListTransactions(
            pb.ListTransactionsRequest(user_id=user, page_size=3, page_token=token)
        )
        assert len(page.entries) <= 3
        seen.extend(page.entries)
        token = page.next_page_token
        if not token:
            break
    ids = [e.id for e in seen]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) == 8
    assert [e.balance_after for e in seen[:2]] == [93, 94]
    usage = await credits.api.ListTransactions(
        pb.ListTransactionsRequest(
            user_id=user, kinds=[pb.ENTRY_KIND_USAGE], reference=f"page-{user}-3"
        )
    )
    assert [e.reference for e in usage.entries] == [f"page-{user}-3"]


async def test_reconcile_reports_drift_made_behind_the_ledger(credits, credits_db):
    import psycopg
    from prometheus_client import REGISTRY

    from videogen_common.db import libpq_url

    user = await account_with(credits, 40)
    report = await credits.admin.Reconcile(pb.ReconcileRequest())
    assert report.accounts_checked >= 1 and list(report.drifts) == []
    assert REGISTRY.get_sample_value("credits_ledger_drift_accounts") == 0
    with psycopg.connect(libpq_url(credits_db), autocommit=True) as conn:
        conn.execute(
            "UPDATE credits.accounts SET balance = balance + 1 WHERE user_id = %s", (user,)
        )
    report = await credits.admin.Reconcile(pb.ReconcileRequest())
    assert [(d.user_id, d.balance, d.entries_sum) for d in report.drifts] == [(user, 41, 40)]
    # What the LedgerDrift alert (deploy/monitoring/alerts.yaml) watches.
    assert REGISTRY.get_sample_value("credits_ledger_drift_accounts") == 1
