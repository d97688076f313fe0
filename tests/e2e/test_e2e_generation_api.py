"""The generation RPCs' contract: validation, ownership, catalog, images, watch, timeouts."""

import asyncio
import uuid

import grpc
import pytest

from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.grpc_status import parse_rpc_error
from videogen_generation.main import start as start_generation

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


async def _error(call):
    try:
        await call
    except grpc.RpcError as error:
        return parse_rpc_error(error)
    raise AssertionError("expected an error")


async def test_another_users_generation_is_not_found(stack, funded_user, t2v_request):
    owner, stranger = await funded_user(100), await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(owner, "k"))).generation
    for call in (
        stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=stranger, generation_id=gen.id)
        ),
        stack.generation_api.CancelGeneration(
            gpb.CancelGenerationRequest(user_id=stranger, generation_id=gen.id)
        ),
        stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=owner, generation_id="not-a-uuid")
        ),
    ):
        assert (await _error(call)).code == grpc.StatusCode.NOT_FOUND


async def test_same_key_other_parameters_is_refused(stack, funded_user, t2v_request):
    user = await funded_user(100)
    await stack.generation_api.CreateGeneration(t2v_request(user, "same"))
    error = await _error(
        stack.generation_api.CreateGeneration(
            t2v_request(user, "same", prompt="a completely different prompt")
        )
    )
    assert (error.code, error.reason) == (grpc.StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED")


async def test_image_to_video_with_uploaded_bytes_and_with_a_url(stack, funded_user, ledger):
    user = await funded_user(100)
    uploaded = (
        await stack.generation_api.CreateGeneration(
            gpb.CreateGenerationRequest(
                user_id=user,
                idempotency_key="bytes",
                model="i2v-14B",
                resolution="480p",
                prompt="the cat in this photo starts to dance",
                duration_s=5,
                image_bytes=PNG,
            )
        )
    ).generation
    stored = stack.generation_app.flow.storage.directory / "inputs" / f"{uploaded.id}.png"
    assert stored.read_bytes() == PNG and uploaded.image_url.split("?")[0].endswith(
        f"{uploaded.id}.png"
    )
    replayed = await stack.generation_api.CreateGeneration(
        gpb.CreateGenerationRequest(
            user_id=user,
            idempotency_key="bytes",
            model="i2v-14B",
            resolution="480p",
            prompt="the cat in this photo starts to dance",
            duration_s=5,
            image_bytes=PNG,
        )
    )
    assert replayed.replayed and replayed.generation.id == uploaded.id
    inputs_dir = stack.generation_app.flow.storage.directory / "inputs"
    assert [p.name for p in inputs_dir.iterdir()] == [f"{uploaded.id}.png"]
    by_url = (
        await stack.generation_api.CreateGeneration(
            gpb.CreateGenerationRequest(
                user_id=user,
                idempotency_key="url",
                model="i2v-14B",
                resolution="720p",
                prompt="the cat in this photo starts to dance",
                duration_s=5,
                image_url="https://example.com/cat.png",
            )
        )
    ).generation
    assert (uploaded.price, by_url.price) == (15, 25)
    inputs = {p.input.get("image") for p in stack.emulator.store.all()}
    assert inputs == {uploaded.image_url, "https://example.com/cat.png"}
    assert (await ledger(user))[0] == 60


async def test_watch_streams_progress_and_the_final_state(stack, funded_user, t2v_request):
    user = await funded_user(100)
    stream = stack.generation_api.WatchGenerations(gpb.WatchGenerationsRequest(user_id=user))
    first = await stream.read()  # only the position: the subscription is in place
    assert not first.HasField("generation")
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    seen, positions = [], [first.event_id]
    async with asyncio.timeout(15):
        while (update := await stream.read()) is not grpc.aio.EOF:
            positions.append(update.event_id)
            assert update.generation.id == gen.id
            seen.append((update.generation.status, update.generation.progress))
            if update.generation.video_url:
                break
    stream.cancel()
    assert positions == sorted(set(positions))  # an ordered log, each event once
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and seen[-1] == (gpb.STATUS_SUCCEEDED, 100)
    assert any(s == gpb.STATUS_PROCESSING and 0 < p < 100 for s, p in seen)


async def test_a_job_running_past_its_age_limit_times_out_and_is_refunded(
    stack, funded_user, ledger, wait_for, t2v_request, tmp_path
):
    await stack.generation_app.stop(0)
    stack.generation_app = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "m", generation_age_max_s=1.0, generation_poll_after_s=0.2
        )
    )
    from videogen.generation.v1 import generation_pb2_grpc
    from videogen_common.caller_auth import AuthedStub

    channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.generation_app.port}")
    stack.channels.append(channel)
    api = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel), "e2e-api-generation-token")
    user = await funded_user(100)
    gen = (
        await api.CreateGeneration(
            t2v_request(user, "k", prompt="a clock that never stops ticking [hang]")
        )
    ).generation

    async def timed_out():
        g = (
            await api.GetGeneration(gpb.GetGenerationRequest(user_id=user, generation_id=gen.id))
        ).generation
        return g if g.status == gpb.STATUS_TIMED_OUT and g.refunded else None

    await wait_for(timed_out)
    assert stack.emulator.store.all()[0].status == "canceled"
    assert (await ledger(user))[0] == 100


@pytest.mark.parametrize(
    "field, body",
    [
        ("prompt", {"prompt": "a red fox\u0000 running through the snow"}),
        (
            "negative_prompt",
            {"prompt": "a red fox running through the snow", "negative_prompt": "blurry\u0000"},
        ),
    ],
)
async def test_a_nul_character_is_a_422_naming_the_field_and_stores_nothing(
    api, stack, field, body
):
    user = str(uuid.uuid4())
    status, answer, _ = await api.call(
        "POST", "/api/generation/text-to-video", user, json={**body, "resolution": "480p"}
    )
    assert status == 422 and [d["loc"][-1] for d in answer["detail"]] == [field]
    status, history, _ = await api.call("GET", "/api/generation/history", user)
    assert history["generations"] == [] and stack.emulator.store.all() == []


async def test_a_nul_in_an_image_url_is_refused_and_nothing_uploaded(api, stack):
    user = str(uuid.uuid4())
    status, answer, _ = await api.call(
        "POST",
        "/api/generation/image-to-video",
        user,
        json={
            "prompt": "a red fox running through the snow",
            "image_url": "https://example.com/fox\u0000.png",
        },
    )
    assert status == 422 and [d["loc"][-1] for d in answer["detail"]] == ["image_url"]
    media = stack.generation_app.flow.storage.directory / "inputs"
    assert list(media.iterdir()) == []
