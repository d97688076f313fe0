"""The domain metrics beside the per-RPC ones, as the alert rules and the dashboard in
deploy/monitoring read them: what each one counts, counted once."""

import asyncio

import grpc
import pytest
from prometheus_client import REGISTRY

from videogen.generation.v1 import generation_pb2 as gpb


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_finished_generations_and_credits_moved_are_counted(
    stack, funded_user, t2v_request, wait_for
):
    succeeded = value("generations_finished_total", status="succeeded", model="t2v-14B")
    rejected = value("generations_finished_total", status="rejected", model="t2v-14B")
    used = value("credits_moved_total", kind="usage", direction="out")
    user = await funded_user(15)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "m1"))).generation

    async def done():
        got = await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=gen.id)
        )
        return got.generation.status == gpb.STATUS_SUCCEEDED and got.generation.video_url

    await wait_for(done)

    async def captured():
        return value("credits_moved_total", kind="usage", direction="out") == used + 10

    await wait_for(captured)
    assert value("generations_finished_total", status="succeeded", model="t2v-14B") == (
        succeeded + 1
    )
    with pytest.raises(grpc.RpcError):  # 5 left, a 10-credit job: refused, and counted
        await stack.generation_api.CreateGeneration(t2v_request(user, "m2"))
    assert value("generations_finished_total", status="rejected", model="t2v-14B") == (rejected + 1)


async def test_the_oldest_open_generation_is_measured_by_recovery(stack, funded_user, t2v_request):
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    user = await funded_user(100)
    await stack.generation_api.CreateGeneration(t2v_request(user, "old"))
    await asyncio.sleep(0.3)
    await stack.generation_app.recovery.run_once()
    assert value("generation_open_oldest_seconds") >= 0.3
