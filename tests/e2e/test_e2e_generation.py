"""A generation across the real services, the official client and the emulator."""

import grpc

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb


async def _get(stack, user, gid):
    return (
        await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=gid)
        )
    ).generation


async def test_success_charges_once_and_keeps_our_copy_of_the_video(
    stack, funded_user, ledger, wait_for, t2v_request
):
    user = await funded_user(100)
    created = await stack.generation_api.CreateGeneration(t2v_request(user, "k1"))
    gen = created.generation
    assert gen.price == 10 and gen.status in (gpb.STATUS_STARTING, gpb.STATUS_PROCESSING)

    async def done():
        g = await _get(stack, user, gen.id)
        return g if g.status == gpb.STATUS_SUCCEEDED and g.video_url else None

    final = await wait_for(done)
    assert final.progress == 100
    copy = stack.generation_app.flow.storage.directory / "videos" / f"{gen.id}.mp4"
    assert b"ftyp" in copy.read_bytes()[:32]
    assert final.video_url.split("?")[0].endswith(f"/videos/{gen.id}.mp4")
    balance, entries = await ledger(user)
    assert balance == 90
    assert [(e.kind, e.reference) for e in entries if e.kind == cpb.ENTRY_KIND_USAGE] == [
        (cpb.ENTRY_KIND_USAGE, gen.id)
    ]
    again = await stack.generation_api.CreateGeneration(t2v_request(user, "k1"))
    assert again.replayed and again.generation.id == gen.id
    assert (await ledger(user))[0] == 90


async def test_insufficient_credits_rejects_and_submits_nothing(
    stack, funded_user, ledger, t2v_request
):
    user = await funded_user(3)
    try:
        await stack.generation_api.CreateGeneration(t2v_request(user, "k-poor"))
        raise AssertionError("expected FAILED_PRECONDITION")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    listed = await stack.generation_api.ListGenerations(gpb.ListGenerationsRequest(user_id=user))
    assert [g.status for g in listed.generations] == [gpb.STATUS_REJECTED]
    assert stack.emulator.store.all() == []
    assert (await ledger(user))[0] == 3
