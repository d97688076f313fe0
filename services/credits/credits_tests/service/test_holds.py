"""Holds: reserved out of what can be spent, captured into one usage entry or released
back to their grants, each once; timeouts released by the sweep."""

import asyncio

import grpc
import psycopg

from videogen.credits.v1 import credits_pb2 as pb
from videogen_common.db import libpq_url

from ..helpers import account_with, assert_consistent, entries_of, new_key, rpc_error


async def reserve(credits, user, amount, reference, key=None, timeout_s=0):
    return await credits.generation.Reserve(
        pb.ReserveRequest(
            user_id=user,
            amount=amount,
            reference=reference,
            idempotency_key=key or new_key(),
            timeout_s=timeout_s,
        )
    )


async def account(credits, user) -> pb.Account:
    return (await credits.api.GetBalance(pb.GetBalanceRequest(user_id=user))).account


async def test_a_hold_leaves_no_entry_and_a_capture_leaves_one(credits):
    user = await account_with(credits, 100)
    held = await reserve(credits, user, 30, "gen-1", key="reserve:gen-1")
    assert (held.hold.amount, held.hold.status) == (30, pb.HOLD_STATUS_OPEN)
    a = await account(credits, user)
    assert (a.available, a.reserved, a.total, a.balance) == (70, 30, 100, 70)
    assert len(await entries_of(credits, user)) == 1  # the signup grant only
    replay = await reserve(credits, user, 30, "gen-1", key="reserve:gen-1")
    assert replay.replayed and replay.hold.id == held.hold.id
    captured = await credits.generation.Capture(
        pb.CaptureRequest(reference="gen-1", amount=20, idempotency_key="capture:gen-1")
    )
    assert (captured.entry.kind, captured.entry.amount) == (pb.ENTRY_KIND_USAGE, -20)
    a = await account(credits, user)
    assert (a.available, a.reserved) == (80, 0)  # the other 10 went back
    await assert_consistent(credits, user)


async def test_each_hold_resolves_once(credits):
    user = await account_with(credits, 100)
    await reserve(credits, user, 10, "gen-c")
    await credits.generation.Capture(
        pb.CaptureRequest(reference="gen-c", amount=10, idempotency_key="cap-1")
    )
    again = await credits.generation.Capture(
        pb.CaptureRequest(reference="gen-c", amount=10, idempotency_key="cap-1")
    )
    assert again.replayed
    for call in (
        credits.generation.Capture(
            pb.CaptureRequest(reference="gen-c", amount=10, idempotency_key="cap-2")
        ),
        credits.generation.Release(pb.ReleaseRequest(reference="gen-c", idempotency_key="rel-1")),
    ):
        assert (await rpc_error(call)).reason == "HOLD_ALREADY_CAPTURED"
    await reserve(credits, user, 10, "gen-r")
    await credits.generation.Release(pb.ReleaseRequest(reference="gen-r", idempotency_key="rel-2"))
    error = await rpc_error(
        credits.generation.Capture(
            pb.CaptureRequest(reference="gen-r", amount=10, idempotency_key="cap-3")
        )
    )
    assert error.reason == "HOLD_ALREADY_RELEASED"
    assert (await rpc_error(reserve(credits, user, 10, "gen-r"))).reason == "HOLD_EXISTS"
    assert (
        await rpc_error(
            credits.generation.Release(pb.ReleaseRequest(reference="nope", idempotency_key="rel-3"))
        )
    ).reason == "HOLD_NOT_FOUND"
    assert (await account(credits, user)).available == 90
    await assert_consistent(credits, user)


async def test_short_of_credits_is_the_same_rich_error_and_a_capture_cannot_exceed(credits):
    user = await account_with(credits, 20)
    error = await rpc_error(reserve(credits, user, 25, "gen-s"))
    assert (error.reason, error.metadata) == (
        "INSUFFICIENT_CREDITS",
        {"balance": "20", "required": "25"},
    )
    await reserve(credits, user, 15, "gen-t")
    error = await rpc_error(
        credits.generation.Capture(
            pb.CaptureRequest(reference="gen-t", amount=16, idempotency_key=new_key())
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (await account(credits, user)).reserved == 15  # unchanged
    await assert_consistent(credits, user)


async def test_an_unlimited_account_reserves_nothing_and_records_its_usage(credits):
    user = await account_with(credits, 3)
    await credits.admin.SetPlan(pb.SetPlanRequest(user_id=user, plan="unlimited"))
    held = await reserve(credits, user, 25, "gen-u")
    assert held.hold.amount == 0
    captured = await credits.generation.Capture(
        pb.CaptureRequest(reference="gen-u", amount=25, idempotency_key=new_key())
    )
    assert (captured.entry.amount, captured.balance) == (0, 3)
    await assert_consistent(credits, user)


async def test_a_timed_out_hold_is_released_once_by_the_sweep(credits, credits_app, credits_db):
    user = await account_with(credits, 100)
    await reserve(credits, user, 40, "gen-late", timeout_s=30)
    with psycopg.connect(libpq_url(credits_db), autocommit=True) as conn:
        [(left,)] = conn.execute(
            "SELECT extract(epoch FROM expires_at - now()) FROM credits.holds"
            " WHERE reference = 'gen-late'"
        ).fetchall()
        assert 25 < left <= 30  # the hold lasts what the caller asked for
        assert (await credits_app.sweeper.run_once())[1] == 0  # not due yet
        conn.execute(  # its time passes (instead of waiting for it)
            "UPDATE credits.holds SET expires_at = now() - interval '1 second'"
            " WHERE reference = 'gen-late'"
        )
    swept = await asyncio.gather(*(credits_app.sweeper.run_once() for _ in range(3)))
    assert sum(holds for _, holds in swept) == 1
    a = await account(credits, user)
    assert (a.available, a.reserved) == (100, 0)
    error = await rpc_error(
        credits.generation.Capture(
            pb.CaptureRequest(reference="gen-late", amount=40, idempotency_key=new_key())
        )
    )
    assert error.reason == "HOLD_ALREADY_RELEASED"
    await assert_consistent(credits, user)


async def test_a_released_share_of_an_expired_grant_expires(credits, credits_db):
    user = await account_with(credits, 100)
    stamp = pb.GrantCreditsRequest(
        user_id=user, amount=30, source=pb.GRANT_SOURCE_PROMO, idempotency_key=new_key()
    )
    stamp.expires_at.GetCurrentTime()
    stamp.expires_at.seconds += 3600
    await credits.payments.GrantCredits(stamp)
    await reserve(credits, user, 50, "gen-e")  # promo 30 + signup 20
    with psycopg.connect(libpq_url(credits_db), autocommit=True) as conn:
        conn.execute(
            "UPDATE credits.grants SET expires_at = now() - interval '1 second'"
            " WHERE user_id = %s AND source = 'promo'",
            (user,),
        )
    await credits.generation.Release(
        pb.ReleaseRequest(reference="gen-e", idempotency_key=new_key())
    )
    a = await account(credits, user)
    assert (a.available, a.reserved, a.total) == (100, 0, 100)
    assert [(e.kind, e.amount) for e in (await entries_of(credits, user))[:1]] == [
        (pb.ENTRY_KIND_EXPIRY, -30)
    ]
    await assert_consistent(credits, user)


async def test_capture_and_release_racing_resolve_the_hold_once(credits):
    user = await account_with(credits, 100)
    for round_ in range(10):
        reference = f"gen-race-{round_}"
        await reserve(credits, user, 5, reference)
        results = await asyncio.gather(
            credits.generation.Capture(
                pb.CaptureRequest(reference=reference, amount=5, idempotency_key=new_key())
            ),
            credits.generation.Release(
                pb.ReleaseRequest(reference=reference, idempotency_key=new_key())
            ),
            return_exceptions=True,
        )
        assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    usage = [e for e in await entries_of(credits, user) if e.kind == pb.ENTRY_KIND_USAGE]
    a = await account(credits, user)
    assert a.available == 100 - 5 * len(usage) and a.reserved == 0
    await assert_consistent(credits, user)
