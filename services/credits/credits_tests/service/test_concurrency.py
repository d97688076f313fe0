"""Exactness under concurrency: many requests in flight against one account."""

import asyncio

import grpc

from videogen.credits.v1 import credits_pb2 as pb
from videogen_common.grpc_status import parse_rpc_error

from ..helpers import account_with, assert_consistent, balance_of, entries_of, new_key


async def _outcomes(calls):
    results = await asyncio.gather(*calls, return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, grpc.RpcError):
            raise r
    return results


async def test_200_concurrent_deducts_against_50_credits(credits):
    user = await account_with(credits, 50)
    results = await _outcomes(
        credits.generation.Deduct(
            pb.DeductRequest(
                user_id=user, amount=1, reference=f"c-{user}-{i}", idempotency_key=new_key()
            )
        )
        for i in range(200)
    )
    ok = [r for r in results if not isinstance(r, grpc.RpcError)]
    refused = [parse_rpc_error(r) for r in results if isinstance(r, grpc.RpcError)]
    assert len(ok) == 50 and len(refused) == 150
    assert {e.reason for e in refused} == {"INSUFFICIENT_CREDITS"}
    assert sorted(r.balance for r in ok) == list(range(50))
    assert await balance_of(credits, user) == 0
    await assert_consistent(credits, user)


async def test_50_concurrent_calls_with_one_key_have_one_effect(credits):
    user = await account_with(credits, 100)
    request = pb.DeductRequest(
        user_id=user, amount=7, reference=f"one-{user}", idempotency_key=new_key()
    )
    results = await _outcomes(credits.generation.Deduct(request) for _ in range(50))
    assert [parse_rpc_error(r) for r in results if isinstance(r, grpc.RpcError)] == []
    assert len({r.entry.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await balance_of(credits, user) == 93
    await assert_consistent(credits, user)


async def test_100_concurrent_refunds_of_one_charge_refund_once(credits):
    user = await account_with(credits, 100)
    for reference in ("same-key", "other-keys"):
        await credits.generation.Deduct(
            pb.DeductRequest(
                user_id=user, amount=30, reference=f"{reference}-{user}", idempotency_key=new_key()
            )
        )
    key = new_key()
    same = await _outcomes(
        credits.generation.Refund(
            pb.RefundRequest(reference=f"same-key-{user}", idempotency_key=key)
        )
        for _ in range(100)
    )
    other = await _outcomes(
        credits.generation.Refund(
            pb.RefundRequest(reference=f"other-keys-{user}", idempotency_key=new_key())
        )
        for _ in range(100)
    )
    assert all(not isinstance(r, grpc.RpcError) for r in same)
    assert len({r.entry.id for r in same}) == 1
    won = [r for r in other if not isinstance(r, grpc.RpcError)]
    lost = {parse_rpc_error(r).reason for r in other if isinstance(r, grpc.RpcError)}
    assert len(won) == 1 and lost == {"ALREADY_REFUNDED"}
    assert await balance_of(credits, user) == 100
    refunds = [e for e in await entries_of(credits, user) if e.kind == pb.ENTRY_KIND_REFUND]
    assert sorted(e.amount for e in refunds) == [30, 30]
    await assert_consistent(credits, user)


async def test_many_users_at_once_stay_exact(credits):
    users = [await account_with(credits, 20) for _ in range(10)]
    calls = [
        credits.generation.Deduct(
            pb.DeductRequest(
                user_id=user, amount=3, reference=f"m-{user}-{i}", idempotency_key=new_key()
            )
        )
        for i in range(10)
        for user in users
    ]
    await _outcomes(calls)
    for user in users:
        assert await balance_of(credits, user) == 2
        await assert_consistent(credits, user)
