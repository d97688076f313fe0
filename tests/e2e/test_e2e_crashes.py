"""A process dies between any two steps of the flow; recovery finishes what it left.

The doomed replica runs with a fault point switched on: the flow stops dead there (no
line after it runs, as in a crash), the replica is stopped, and the surviving replica's
recovery loop must end every generation terminal with its hold captured (delivered) or
released, usage = the cost of the succeeded ones, and never submit a generation twice.
"""

import json

import grpc
import pytest

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen.generation.v1 import generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_generation.faults import InjectedCrash
from videogen_generation.main import start as start_generation

TERMINAL = {
    gpb.STATUS_SUCCEEDED,
    gpb.STATUS_FAILED,
    gpb.STATUS_CANCELED,
    gpb.STATUS_TIMED_OUT,
    gpb.STATUS_REJECTED,
}
TOKEN = "e2e-api-generation-token"


async def _generations(stack, user):
    return list(
        (
            await stack.generation_api.ListGenerations(gpb.ListGenerationsRequest(user_id=user))
        ).generations
    )


async def _check_settled(stack, user, ledger):
    """True once every generation is terminal and settled; then check the money."""
    gens = await _generations(stack, user)
    if not gens or any(g.status not in TERMINAL for g in gens):
        return False
    if any(
        g.reserved
        or (
            g.status in (gpb.STATUS_FAILED, gpb.STATUS_CANCELED, gpb.STATUS_TIMED_OUT)
            and not g.refunded
        )
        for g in gens
    ):
        return False  # a hold not yet captured or released
    balance, entries = await ledger(user)
    charged = -sum(e.amount for e in entries if e.kind == cpb.ENTRY_KIND_USAGE)
    refunded = sum(e.amount for e in entries if e.kind == cpb.ENTRY_KIND_REFUND)
    succeeded = sum(g.price for g in gens if g.status == gpb.STATUS_SUCCEEDED)
    assert charged - refunded == succeeded, (charged, refunded, succeeded)
    assert balance == 100 - succeeded
    return gens


@pytest.mark.parametrize("point", ["after_insert", "after_reserve", "after_submit", "after_store"])
async def test_a_crash_in_the_create_flow_is_recovered(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path, point
):
    user = await funded_user(100)
    doomed = await start_generation(
        stack.generation_settings(media_dir=tmp_path / "doomed", generation_faults=point),
        recover=False,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{doomed.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            with pytest.raises(grpc.RpcError) as crashed:
                await stub.CreateGeneration(t2v_request(user, "k"))
            assert crashed.value.code() == grpc.StatusCode.INTERNAL
    finally:
        await doomed.stop(0)
    gens = await wait_for(lambda: _check_settled(stack, user, ledger), timeout_s=30)
    assert len(gens) == 1
    submitted = [p for p in stack.emulator.store.all() if p.webhook and gens[0].id in p.webhook]
    assert len(submitted) <= 1, "submitted twice"
    assert (gens[0].status == gpb.STATUS_SUCCEEDED) == (len(submitted) == 1)


async def test_a_crash_between_a_terminal_update_and_its_refund_is_recovered(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path
):
    stack.emulator.update_config({"webhook_drop_all": True, "paused": True})
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    prediction_id = stack.emulator.store.all()[0].id
    doomed = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "doomed", generation_faults="after_terminal"
        ),
        recover=False,
    )
    try:
        failed = {
            "id": prediction_id,
            "status": "failed",
            "error": "GPU fell over",
            "logs": "",
            "output": None,
        }
        with pytest.raises(InjectedCrash):
            await doomed.flow.apply_update(gen.id, json.loads(json.dumps(failed)))
    finally:
        await doomed.stop(0)
    gens = await wait_for(lambda: _check_settled(stack, user, ledger), timeout_s=30)
    assert gens[0].status == gpb.STATUS_FAILED and gens[0].refunded


async def test_two_replicas_recovering_at_once_submit_each_generation_once(
    stack, funded_user, t2v_request, tmp_path, wait_for
):
    """Leases and SKIP LOCKED: replicas racing over the same stuck rows never both act."""
    import asyncio

    # Only the two racing replicas below may recover: stop the stack's own recovery loop.
    for task in stack.generation_app.tasks[1:]:
        task.cancel()
    user = await funded_user(100)
    doomed = await start_generation(
        stack.generation_settings(media_dir=tmp_path / "doomed", generation_faults="after_reserve"),
        recover=False,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{doomed.port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            for i in range(6):
                with pytest.raises(grpc.RpcError):
                    await stub.CreateGeneration(t2v_request(user, f"k{i}"))
    finally:
        await doomed.stop(0)
    # Two more replicas whose recovery runs only when told to, racing each other and
    # the stack's own replica.
    replicas = [
        await start_generation(
            stack.generation_settings(media_dir=tmp_path / f"r{n}", generation_lease_s=30.0),
            recover=False,
        )
        for n in range(2)
    ]
    try:

        async def all_submitted():
            # Both race for the rows once the doomed replica's leases (2.5 s) expire.
            await asyncio.gather(*(r.recovery.run_once() for r in replicas))
            gens = await _generations(stack, user)
            return gens if all(g.status != gpb.STATUS_QUEUED for g in gens) else None

        gens = await wait_for(all_submitted)
    finally:
        for replica in replicas:
            await replica.stop(0)
    assert len(gens) == 6
    for gen in gens:
        submitted = [p for p in stack.emulator.store.all() if p.webhook and gen.id in p.webhook]
        assert len(submitted) == 1, gen.id


async def test_a_real_process_killed_after_charging_is_recovered(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path
):
    """The generation service as its own process, dying with os._exit at a fault point."""
    import asyncio
    import json as json_
    import os
    import subprocess
    import sys

    from videogen_common.testing.waits import free_port

    port = free_port()
    settings = stack.generation_settings(media_dir=tmp_path / "killed")
    env = dict(
        os.environ,
        DATABASE_URL=stack.service_urls["generation"],
        MEDIA_URL_SECRET=settings.media_url_secret,
        GENERATION_CALLER_TOKENS=json_.dumps(settings.generation_caller_tokens),
        GENERATION_GRPC_ADDRESS=f"127.0.0.1:{port}",
        GENERATION_CREDITS_TOKEN=settings.generation_credits_token,
        CREDITS_ADDRESS=settings.credits_address,
        REPLICATE_API_TOKEN=settings.replicate_api_token,
        REPLICATE_BASE_URL=settings.replicate_base_url,
        WEBHOOK_PUBLIC_URL=settings.webhook_public_url,
        GENERATION_MEDIA_DIR=str(tmp_path / "killed"),
        GENERATION_RECOVERY_INTERVAL_S="3600",
        GENERATION_LEASE_S="2.5",
        GENERATION_REPLICATE_TIMEOUT_S="1",
        GENERATION_FAULTS="after_reserve",
        GENERATION_FAULTS_EXIT="true",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "videogen_generation.main"], env=env, stderr=subprocess.DEVNULL
    )
    user = await funded_user(100)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), TOKEN)
            await asyncio.wait_for(channel.channel_ready(), 30)
            with pytest.raises(grpc.RpcError):
                await stub.CreateGeneration(t2v_request(user, "k"), timeout=10)
        assert await asyncio.to_thread(process.wait, 10) == 70  # died at the fault point
    finally:
        if process.poll() is None:
            process.kill()
    gens = await wait_for(lambda: _check_settled(stack, user, ledger), timeout_s=30)
    assert [g.status for g in gens] == [gpb.STATUS_SUCCEEDED]
