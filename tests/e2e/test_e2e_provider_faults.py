"""A provider that answers slowly, loses answers, forgets jobs, or finishes unseen: one job
per generation at most, and only a definite answer ever ends one."""

import asyncio

import grpc
import psycopg
import pytest

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen.generation.v1 import generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.db import libpq_url
from videogen_common.testing.tcp_proxy import TcpProxy
from videogen_generation.domain import MISSING_POLLS_MAX
from videogen_generation.main import start as start_generation

TOKEN = "e2e-api-generation-token"


async def _get(stack, user, gid):
    return (
        await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=gid)
        )
    ).generation


def _kinds(entries, kind):
    return [e for e in entries if e.kind == kind]


async def _finished(stack, user, gid, wait_for, status, timeout_s=15.0):
    """Ended in ``status``, its hold captured or released."""

    async def probe():
        g = await _get(stack, user, gid)
        return g if g.status == status and not g.reserved else None

    return await wait_for(probe, timeout_s=timeout_s)


def _stop_stack_recovery(stack):
    # Only the replica under test may recover, so the test shows what it does.
    for task in stack.generation_app.tasks[1:]:
        task.cancel()


async def test_a_create_answered_past_its_deadline_is_found_not_sent_again(
    stack, funded_user, ledger, wait_for, t2v_request, jobs_of
):
    # The provider records the job at once but holds its answer past our 1 s deadline
    # and past the 2.5 s lease.
    stack.emulator.update_config({"create_delay_s": 5.0})
    user = await funded_user(100)
    loop = asyncio.get_running_loop()
    began = loop.time()
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    assert loop.time() - began < 4.0  # the create's own deadline, not the provider's pace
    assert gen.status != gpb.STATUS_FAILED
    await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
    # Terminal now, so nothing more is sent for it; any create sent before has landed.
    await wait_for(lambda: stack.emulator.creates_unrecorded == 0)
    assert len(jobs_of(gen.id)) == 1
    balance, entries = await ledger(user)
    assert balance == 90 and not _kinds(entries, cpb.ENTRY_KIND_REFUND)


async def test_a_create_recorded_only_after_its_deadline_is_waited_for_not_repeated(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path, jobs_of
):
    # The provider holds the request before it records the job: a lookup right after
    # our deadline finds nothing, yet the job appears a moment later.
    _stop_stack_recovery(stack)
    stack.emulator.update_config({"create_record_delay_s": 1.5})
    replica = await start_generation(
        stack.generation_settings(media_dir=tmp_path / "r", generation_create_settle_s=3.0)
    )
    user = await funded_user(100)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            gen = (await stub.CreateGeneration(t2v_request(user, "k"))).generation
        assert gen.status == gpb.STATUS_QUEUED
        await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
        # Terminal now, so nothing more is sent; any second create sent meanwhile has landed.
        await wait_for(lambda: stack.emulator.creates_unrecorded == 0)
    finally:
        await replica.stop(0)
    assert len(jobs_of(gen.id)) == 1
    assert (await ledger(user))[0] == 90


async def test_a_create_cut_off_by_a_crash_is_waited_for_by_the_next_replica(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path, jobs_of
):
    # A replica sends a create that the provider records only after that replica's
    # lease has run out, and dies before any answer. The replica that recovers the
    # generation finds nothing yet; it must wait out the window since the create was
    # sent (noted in the row), look again, and adopt the job instead of sending another.
    _stop_stack_recovery(stack)
    stack.emulator.update_config({"create_record_delay_s": 3.5})
    settings = stack.generation_settings(media_dir=tmp_path / "r", generation_create_settle_s=6.0)
    doomed = await start_generation(settings, recover=False)
    survivor = await start_generation(settings)
    user = await funded_user(100)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{doomed.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            call = asyncio.ensure_future(stub.CreateGeneration(t2v_request(user, "k")))
            await wait_for(lambda: stack.emulator.creates_unrecorded == 1)
            await doomed.stop(0)  # the create is in flight; nothing after it runs
            with pytest.raises(grpc.aio.AioRpcError):
                await call
        listed = await stack.generation_api.ListGenerations(
            gpb.ListGenerationsRequest(user_id=user)
        )
        (gen,) = listed.generations
        await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED, timeout_s=30)
        await wait_for(lambda: stack.emulator.creates_unrecorded == 0)
    finally:
        await survivor.stop(0)
    assert len(jobs_of(gen.id)) == 1
    assert (await ledger(user))[0] == 90


async def test_a_cancel_waits_for_a_create_that_may_still_land_then_stops_its_job(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path, jobs_of
):
    # The create's answer is lost and the provider records the job a moment later. A
    # cancel in between must not end the generation while that job may still run (it
    # would run, and could succeed, unpaid and unseen): it is refused for a moment, then
    # finds the job and stops it.
    _stop_stack_recovery(stack)
    stack.emulator.update_config({"create_record_delay_s": 2.0, "paused": True})
    replica = await start_generation(
        stack.generation_settings(media_dir=tmp_path / "r", generation_create_settle_s=6.0),
        recover=False,
    )
    user = await funded_user(100)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            gen = (await stub.CreateGeneration(t2v_request(user, "k"))).generation
            assert gen.status == gpb.STATUS_QUEUED  # the create's outcome is unknown
            cancel = gpb.CancelGenerationRequest(user_id=user, generation_id=gen.id)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.CancelGeneration(cancel)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert (await _get(stack, user, gen.id)).status == gpb.STATUS_QUEUED
            await wait_for(lambda: stack.emulator.creates_unrecorded == 0)  # it landed
            canceled = (await stub.CancelGeneration(cancel)).generation
    finally:
        await replica.stop(0)
    assert canceled.status == gpb.STATUS_CANCELED
    (job,) = jobs_of(gen.id)
    assert job.status == "canceled" and canceled.provider_job_id == job.id
    assert (await ledger(user))[0] == 100  # its hold released


async def test_a_provider_erroring_for_a_while_delays_the_job_without_failing_it(
    stack, funded_user, ledger, wait_for, t2v_request, jobs_of
):
    stack.emulator.update_config(
        {"create_error_count": 3, "create_error_status": 503, "create_retry_after_s": 0}
    )
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    assert gen.status == gpb.STATUS_QUEUED
    await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED, timeout_s=30)
    assert len(jobs_of(gen.id)) == 1
    assert (await ledger(user))[0] == 90


async def test_an_error_after_the_create_was_recorded_adopts_that_job(
    stack, funded_user, ledger, wait_for, t2v_request, jobs_of
):
    stack.emulator.update_config({"create_error_after_record_count": 1, "create_error_status": 500})
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
    assert len(jobs_of(gen.id)) == 1
    assert (await ledger(user))[0] == 90


async def test_a_lookup_that_fails_leaves_the_outcome_unknown_never_failed(
    stack, funded_user, ledger, wait_for, t2v_request, jobs_of
):
    stack.emulator.update_config(
        {"create_error_after_record_count": 1, "create_error_status": 500, "list_error_count": 3}
    )
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    assert (gen.status, gen.refunded) == (gpb.STATUS_QUEUED, False)  # unknown, not failed
    await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
    assert len(jobs_of(gen.id)) == 1  # recovery found the job instead of sending another
    balance, entries = await ledger(user)
    assert balance == 90 and not _kinds(entries, cpb.ENTRY_KIND_REFUND)


async def test_a_short_credits_outage_delays_the_charge_and_never_fails(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path, jobs_of
):
    proxy = TcpProxy("127.0.0.1", stack.credits_app.port)
    await proxy.start()
    replica = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "r", credits_address=f"127.0.0.1:{proxy.port}"
        )
    )
    user = await funded_user(100)
    try:
        await proxy.cut()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            gen = (await stub.CreateGeneration(t2v_request(user, "k"))).generation
        assert (gen.status, gen.refunded) == (gpb.STATUS_QUEUED, False)
        assert jobs_of(gen.id) == []  # nothing runs unpaid
        await proxy.restore()
        await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
        final = await wait_for(lambda: _has_video(stack, user, gen.id))
    finally:
        await replica.stop(0)
        await proxy.cut()
    assert final and len(jobs_of(gen.id)) == 1
    balance, entries = await ledger(user)
    assert balance == 90 and len(_kinds(entries, cpb.ENTRY_KIND_USAGE)) == 1


async def test_a_job_that_finished_unseen_is_delivered_not_timed_out(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path
):
    _stop_stack_recovery(stack)
    stack.emulator.update_config({"webhook_drop_all": True})
    replica = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "r", generation_age_max_s=0.5, generation_poll_after_s=1.5
        )
    )
    user = await funded_user(100)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            gen = (await stub.CreateGeneration(t2v_request(user, "k"))).generation
        final = await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
    finally:
        await replica.stop(0)
    assert final.progress == 100 and not final.refunded
    assert (await ledger(user))[0] == 90


async def test_a_job_the_provider_forgot_fails_after_bounded_polls_and_refunds(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path
):
    _stop_stack_recovery(stack)
    stack.emulator.update_config({"lose_rate": 1.0, "webhook_drop_all": True})
    replica = await start_generation(
        stack.generation_settings(media_dir=tmp_path / "r", generation_poll_after_s=0.1)
    )
    user = await funded_user(100)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            gen = (await stub.CreateGeneration(t2v_request(user, "k"))).generation
        final = await _finished(stack, user, gen.id, wait_for, gpb.STATUS_FAILED)
        await wait_for(lambda: _refunded(stack, user, gen.id))
    finally:
        await replica.stop(0)
    assert "no longer knows" in final.error
    assert (await ledger(user))[0] == 100


async def test_a_not_found_is_asked_again_at_the_base_pace_not_backed_off(
    stack, funded_user, t2v_request, tmp_path, wait_for
):
    # Silence backs off (the job may just be long); a 404 is an answer, asked again at
    # the base pace, so a job the provider forgot is given up in a few polls, not hours.
    _stop_stack_recovery(stack)
    stack.emulator.update_config({"lose_rate": 1.0, "webhook_drop_all": True})
    replica = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "r",
            generation_poll_after_s=60.0,
            generation_poll_backoff_max_s=3600.0,
        ),
        recover=False,
    )
    user = await funded_user(100)
    url = libpq_url(stack.database_url)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            gen = (await stub.CreateGeneration(t2v_request(user, "k"))).generation
        await wait_for(lambda: all(p.lost for p in stack.emulator.store.history.values()))
        for polls in range(1, MISSING_POLLS_MAX):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "UPDATE generation.generations SET next_poll_at = now() WHERE id = %s",
                    (gen.id,),
                )
            await replica.recovery.run_once()
            with psycopg.connect(url) as conn:
                missing, wait_s, attempts = conn.execute(
                    "SELECT provider_missing, extract(epoch FROM next_poll_at - now()),"
                    " poll_attempts FROM generation.generations WHERE id = %s",
                    (gen.id,),
                ).fetchone()
            assert (missing, attempts) == (polls, polls)
            assert 0 < wait_s <= 60.0  # doubling would be 60 * 2 ** (polls - 1)
    finally:
        await replica.stop(0)


async def _refunded(stack, user, gid):
    return (await _get(stack, user, gid)).refunded


async def test_news_of_a_second_job_is_ignored_and_that_job_canceled(
    stack, funded_user, wait_for, t2v_request, send_webhook
):
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    first = stack.emulator.store.all()[0]
    second = stack.emulator.create_prediction(
        model=first.model,
        version="hidden",
        input=dict(first.input),
        webhook=first.webhook,
        webhook_events_filter=None,
    )
    status, _ = await send_webhook(
        gen.id, {"id": second.id, "status": "processing", "logs": " 60%|██████", "output": None}
    )
    assert status == 200
    assert second.status == "canceled"
    current = await _get(stack, user, gen.id)
    assert (current.status, current.progress) == (gpb.STATUS_STARTING, 0)


async def test_a_cancel_after_the_provider_succeeded_delivers_the_video(
    stack, funded_user, ledger, wait_for, t2v_request
):
    stack.emulator.update_config({"webhook_drop_all": True})
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    job = stack.emulator.store.all()[0]
    await wait_for(lambda: _done_at_provider(job))
    with pytest.raises(grpc.RpcError) as refused:
        await stack.generation_api.CancelGeneration(
            gpb.CancelGenerationRequest(user_id=user, generation_id=gen.id)
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    final = await _finished(stack, user, gen.id, wait_for, gpb.STATUS_SUCCEEDED)
    await wait_for(lambda: _has_video(stack, user, gen.id))
    balance, entries = await ledger(user)
    assert (balance, final.refunded) == (90, False)
    assert not _kinds(entries, cpb.ENTRY_KIND_REFUND)


async def _done_at_provider(job):
    return job.status == "succeeded"


async def _has_video(stack, user, gid):
    return (await _get(stack, user, gid)).video_url
