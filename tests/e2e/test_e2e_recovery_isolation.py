"""Recovery that no single row can stop: each row fails alone, each kind of work has its
own budget, and an output that cannot be copied is given up after bounded attempts."""

import psycopg
import pytest

from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common.db import libpq_url
from videogen_generation.domain import COPY_ATTEMPTS_MAX, Step
from videogen_generation.faults import InjectedCrash
from videogen_generation.main import start as start_generation


def _unreachable_output(stack) -> str:
    """On the provider's own host (so fetched at all), but already deleted there."""
    return f"{stack.emulator.base_url}/files/deleted-output.mp4"


async def _get(stack, user, gid):
    return (
        await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=gid)
        )
    ).generation


def _row(stack, gid) -> dict:
    with psycopg.connect(libpq_url(stack.database_url)) as conn:
        cursor = conn.execute(
            "SELECT copy_attempts, copy_lost, video_url, output_url, recovery_failures,"
            " recover_after > now() AS backed_off FROM generation.generations WHERE id = %s",
            (gid,),
        )
        names = [c.name for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=False))


@pytest.fixture
async def quiet(stack, tmp_path):
    """A replica whose recovery runs only when the test says so (and the stack's own
    recovery stopped), with a small budget per kind of work."""
    for task in stack.generation_app.tasks[1:]:
        task.cancel()
    # Its passes are run by hand, so the interval only sets the backoff of a failed row:
    # long enough that no slow pass outlasts it.
    replica = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "quiet",
            generation_recovery_batch_max=2,
            generation_recovery_interval_s=60.0,
        ),
        recover=False,
    )
    yield replica
    await replica.stop(0)


async def _succeeded_without_a_copy(stack, user, key, t2v_request, send_webhook):
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, key))).generation
    job = stack.emulator.store.all()[-1]
    status, _ = await send_webhook(
        gen.id,
        {"id": job.id, "status": "succeeded", "logs": "", "output": _unreachable_output(stack)},
    )
    assert status == 200
    done = await _get(stack, user, gen.id)
    assert done.status == gpb.STATUS_SUCCEEDED and not done.video_url
    return gen


async def _failed_without_a_refund(stack, user, key, t2v_request, tmp_path):
    """A provider failure whose refund a crash interrupted."""
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, key))).generation
    job = stack.emulator.store.all()[-1]
    doomed = await start_generation(
        stack.generation_settings(
            media_dir=tmp_path / "doomed", generation_faults="after_terminal"
        ),
        recover=False,
    )
    try:
        with pytest.raises(InjectedCrash):
            await doomed.flow.apply_update(
                gen.id, {"id": job.id, "status": "failed", "error": "GPU fell over", "logs": ""}
            )
    finally:
        await doomed.stop(0)
    assert not (await _get(stack, user, gen.id)).refunded
    return gen


async def test_refunds_are_not_held_up_by_outputs_that_cannot_be_copied(
    stack, quiet, funded_user, t2v_request, send_webhook, tmp_path
):
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    user = await funded_user(100)
    stuck = [
        await _succeeded_without_a_copy(stack, user, f"s{i}", t2v_request, send_webhook)
        for i in range(4)
    ]  # twice the budget of a pass
    failed = await _failed_without_a_refund(stack, user, "f", t2v_request, tmp_path)
    await quiet.recovery.run_once()
    assert (await _get(stack, user, failed.id)).refunded
    for _ in range(COPY_ATTEMPTS_MAX * 2):
        await quiet.recovery.run_once()
    for gen in stuck:
        row = _row(stack, gen.id)
        assert row["copy_attempts"] == COPY_ATTEMPTS_MAX and row["copy_lost"]
        # Still succeeded, with the provider's URL: the user may still fetch it there.
        final = await _get(stack, user, gen.id)
        assert final.status == gpb.STATUS_SUCCEEDED and final.video_url == _unreachable_output(
            stack
        )


async def test_a_row_that_raises_fails_alone_and_is_backed_off(
    stack, quiet, funded_user, t2v_request, send_webhook
):
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    user = await funded_user(100)
    bad, good = [
        await _succeeded_without_a_copy(stack, user, k, t2v_request, send_webhook)
        for k in ("bad", "good")
    ]
    # A first pass leaves only the copies to do: a hold whose capture did not end with
    # the news (seen once in many runs) is settled here, with a copy attempt of its own,
    # and would otherwise add one to what the passes below count.
    await quiet.recovery.run_once()
    copy = quiet.recovery._steps[Step.COPY]

    async def copy_or_break(gen, lease):
        if gen.id == bad.id:  # a bug no handler foresaw, in the oldest row
            raise RuntimeError("unexpected")
        await copy(gen, lease)

    quiet.recovery._steps[Step.COPY] = copy_or_break
    tried = _row(stack, good.id)["copy_attempts"]  # at the news, and in the first pass
    await quiet.recovery.run_once()
    assert _row(stack, good.id)["copy_attempts"] == tried + 1  # the pass went on past it
    broken = _row(stack, bad.id)
    assert broken["recovery_failures"] == 1 and broken["backed_off"]
    await quiet.recovery.run_once()
    assert _row(stack, good.id)["copy_attempts"] == tried + 2
    assert _row(stack, bad.id)["recovery_failures"] == 1  # not taken again so soon
