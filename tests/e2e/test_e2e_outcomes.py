"""Failures, cancels, retries, lost and duplicated webhooks: a hold released once for
each, and nothing in the user's history but one usage per delivered video."""

import grpc

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb


async def _get(stack, user, gid):
    return (
        await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=gid)
        )
    ).generation


def _refunds(entries):
    return [e for e in entries if e.kind == cpb.ENTRY_KIND_REFUND]


def _usage(entries):
    return [e for e in entries if e.kind == cpb.ENTRY_KIND_USAGE]


def _untouched(entries) -> bool:
    """Only the signup grant: a failed or canceled generation leaves no trace."""
    return [e.kind for e in entries] == [cpb.ENTRY_KIND_SIGNUP_GRANT]


async def _settled(stack, user, gid, wait_for, status):
    async def probe():
        g = await _get(stack, user, gid)
        settled = g.video_url if status == gpb.STATUS_SUCCEEDED else g.refunded
        return g if g.status == status and settled and not g.reserved else None

    return await wait_for(probe)


async def test_failure_releases_once_though_the_webhook_arrives_three_times(
    stack, funded_user, ledger, wait_for, t2v_request
):
    stack.emulator.update_config({"webhook_duplicates": 2})
    user = await funded_user(100)
    gen = (
        await stack.generation_api.CreateGeneration(
            t2v_request(user, "k", prompt="a storm over the sea [fail]")
        )
    ).generation
    final = await _settled(stack, user, gen.id, wait_for, gpb.STATUS_FAILED)
    assert final.error
    prediction = stack.emulator.store.all()[0]

    async def all_delivered():
        report = stack.emulator.dispatcher.deliveries(prediction.id)
        accepted = [
            d for d in report["deliveries"] if d["event"] == "completed" and d["http_status"] == 200
        ]
        return report["pending"] == 0 and len(accepted) == 3

    await wait_for(all_delivered)
    balance, entries = await ledger(user)
    assert balance == 100 and _untouched(entries)


async def test_cancel_at_the_provider_ends_canceled_and_releases(
    stack, funded_user, ledger, wait_for, t2v_request
):
    user = await funded_user(100)
    gen = (
        await stack.generation_api.CreateGeneration(
            t2v_request(user, "k", prompt="an endless corridor of doors [hang]")
        )
    ).generation
    canceled = (
        await stack.generation_api.CancelGeneration(
            gpb.CancelGenerationRequest(user_id=user, generation_id=gen.id)
        )
    ).generation
    assert canceled.status == gpb.STATUS_CANCELED and canceled.refunded
    assert stack.emulator.store.get(stack.emulator.store.all()[0].id).status == "canceled"
    balance, entries = await ledger(user)
    assert balance == 100 and _untouched(entries)
    again = (
        await stack.generation_api.CancelGeneration(
            gpb.CancelGenerationRequest(user_id=user, generation_id=gen.id)
        )
    ).generation
    assert (again.status, again.refunded) == (gpb.STATUS_CANCELED, True)
    assert _untouched((await ledger(user))[1])
    stack.emulator.update_config({"force_outcome": "succeeded"})
    done = (await stack.generation_api.CreateGeneration(t2v_request(user, "k2"))).generation
    await _settled(stack, user, done.id, wait_for, gpb.STATUS_SUCCEEDED)
    try:
        await stack.generation_api.CancelGeneration(
            gpb.CancelGenerationRequest(user_id=user, generation_id=done.id)
        )
        raise AssertionError("canceling a finished generation must be refused")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_retry_is_a_new_generation_held_anew(
    stack, funded_user, ledger, wait_for, t2v_request
):
    user = await funded_user(100)
    stack.emulator.update_config({"force_outcome": "failed"})
    first = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    await _settled(stack, user, first.id, wait_for, gpb.STATUS_FAILED)
    stack.emulator.update_config({"force_outcome": None})
    retried = await stack.generation_api.RetryGeneration(
        gpb.RetryGenerationRequest(user_id=user, generation_id=first.id, idempotency_key="r1")
    )
    assert retried.generation.retry_of == first.id and retried.generation.id != first.id
    await _settled(stack, user, retried.generation.id, wait_for, gpb.STATUS_SUCCEEDED)
    balance, entries = await ledger(user)
    assert balance == 90 and len(_usage(entries)) == 1 and not _refunds(entries)


async def test_lost_webhooks_are_covered_by_the_poller(
    stack, funded_user, ledger, wait_for, t2v_request
):
    stack.emulator.update_config({"webhook_drop_all": True})
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    final = await _settled(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
    assert final.video_url and final.progress == 100
    assert (await ledger(user))[0] == 90


async def test_reordered_webhooks_never_move_a_generation_back(
    stack, funded_user, wait_for, t2v_request
):
    stack.emulator.update_config({"webhook_reorder": True})
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    await _settled(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
    prediction = stack.emulator.store.all()[0]

    async def delivered():
        report = stack.emulator.dispatcher.deliveries(prediction.id)
        return report["pending"] == 0 and not report["held"]

    await wait_for(delivered)
    final = await _get(stack, user, gen.id)
    assert final.status == gpb.STATUS_SUCCEEDED and final.progress == 100


async def test_aborted_at_the_provider_fails_and_refunds(
    stack, funded_user, ledger, wait_for, t2v_request
):
    user = await funded_user(100)
    gen = (
        await stack.generation_api.CreateGeneration(
            t2v_request(user, "k", prompt="a lighthouse at dusk, waves [abort]")
        )
    ).generation
    final = await _settled(stack, user, gen.id, wait_for, gpb.STATUS_FAILED)
    assert "abort" in final.error
    assert (await ledger(user))[0] == 100


async def test_provider_refusing_every_create_fails_and_releases_once(
    stack, funded_user, ledger, t2v_request
):
    # 429 says nothing was recorded: the only answer the create is repeated after at once.
    stack.emulator.update_config(
        {"create_error_count": 10, "create_error_status": 429, "create_retry_after_s": 0}
    )
    user = await funded_user(100)
    try:
        await stack.generation_api.CreateGeneration(t2v_request(user, "k"))
        raise AssertionError("expected UNAVAILABLE")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAVAILABLE
    listed = (
        await stack.generation_api.ListGenerations(gpb.ListGenerationsRequest(user_id=user))
    ).generations
    assert [(g.status, g.refunded) for g in listed] == [(gpb.STATUS_FAILED, True)]
    balance, entries = await ledger(user)
    assert balance == 100 and _untouched(entries)
    assert stack.emulator.store.all() == []
