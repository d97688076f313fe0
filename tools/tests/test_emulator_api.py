"""The emulator through the official replicate client: create, get, list, cancel, output."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
from replicate.exceptions import ReplicateError

from replicate_emulator import start_emulator
from replicate_emulator.app import SAMPLE_MP4

TOKEN = "r8_test_token"
WAN = "wavespeedai/wan-2.1-t2v-480p"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def test_create_via_model_runs_to_success(client, emulator):
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "a red fox", "num_frames": 81}
    )
    assert prediction.status == "starting"
    assert prediction.model == WAN
    assert prediction.input == {"prompt": "a red fox", "num_frames": 81}
    assert re.fullmatch(r"[a-z0-9]{26}", prediction.id)
    assert ISO_Z.match(prediction.created_at)
    assert prediction.urls["get"] == f"{emulator.base_url}/v1/predictions/{prediction.id}"
    assert prediction.urls["cancel"] == prediction.urls["get"] + "/cancel"
    assert prediction.completed_at is None and prediction.output is None

    await prediction.async_wait()
    assert prediction.status == "succeeded"
    assert prediction.output == f"{emulator.base_url}/files/{prediction.id}.mp4"
    assert prediction.error is None
    assert prediction.metrics["predict_time"] > 0
    started = datetime.fromisoformat(prediction.started_at)
    completed = datetime.fromisoformat(prediction.completed_at)
    assert datetime.fromisoformat(prediction.created_at) <= started <= completed
    progress = prediction.progress  # the client parses our tqdm lines
    assert progress is not None and progress.current == progress.total
    assert progress.percentage == 1.0
    assert "100%|██████████|" in prediction.logs


async def test_processing_logs_grow_with_progress(client, emulator):
    emulator.update_config({"step_delay_s": 0.05, "progress_steps": 4})
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "waves"})
    seen = []
    while prediction.status not in ("succeeded", "failed", "canceled"):
        await prediction.async_reload()
        if prediction.status == "processing" and prediction.progress is not None:
            seen.append(prediction.progress.current)
    assert prediction.status == "succeeded"
    assert len(set(seen)) >= 2, seen  # saw at least two distinct progress points
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    "version, model, version_id",
    [
        (
            "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
            WAN,
            "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        ),
        ("someone/some-model:abc123", "someone/some-model", "abc123"),
    ],
)
async def test_create_via_version(client, version, model, version_id):
    prediction = await client.predictions.async_create(version, input={"prompt": "hi"})
    assert (prediction.model, prediction.version) == (model, version_id)
    fetched = await client.predictions.async_get(prediction.id)
    assert fetched.id == prediction.id and fetched.input == {"prompt": "hi"}


async def test_get_unknown_prediction_is_404(client):
    with pytest.raises(ReplicateError) as info:
        await client.predictions.async_get("doesnotexist")
    assert info.value.status == 404


async def test_output_is_a_real_mp4_served_without_auth(client):
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "a boat"})
    await prediction.async_wait()
    async with httpx.AsyncClient() as http:  # no Authorization header, like replicate.delivery
        response = await http.get(prediction.output)
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.content[4:8] == b"ftyp"
    assert response.content == SAMPLE_MP4.read_bytes()
    assert 1000 < len(response.content) < 100_000


async def test_failed_by_marker(client, emulator):
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "x [fail]"})
    await prediction.async_wait()
    assert prediction.status == "failed"
    assert "out of memory" in prediction.error
    assert prediction.output is None and prediction.completed_at is not None
    async with httpx.AsyncClient() as http:  # no file for a failed prediction
        response = await http.get(f"{emulator.base_url}/files/{prediction.id}.mp4")
    assert response.status_code == 404


async def test_cancel_marker_ends_canceled(client):
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "[cancel] x"})
    await prediction.async_wait()
    assert prediction.status == "canceled" and prediction.output is None


async def test_cancel_a_hanging_prediction(client, wait_until):
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "[hang]"})

    async def processing():
        await prediction.async_reload()
        return prediction.status == "processing"

    await wait_until(processing)
    await prediction.async_cancel()
    assert prediction.status == "canceled" and prediction.completed_at is not None
    again = await client.predictions.async_get(prediction.id)
    assert again.status == "canceled"


async def test_cancel_of_a_finished_prediction_changes_nothing(client):
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "done"})
    await prediction.async_wait()
    canceled = await client.predictions.async_cancel(prediction.id)
    assert canceled.status == "succeeded" and canceled.output == prediction.output


async def test_list_is_newest_first_with_cursor_pages(client, emulator):
    emulator.update_config({"page_size": 2})
    created = [
        (await client.predictions.async_create(model=WAN, input={"prompt": str(i)})).id
        for i in range(5)
    ]
    first = await client.predictions.async_list()
    assert first.previous is None and first.next is not None
    assert first.next.startswith(f"{emulator.base_url}/v1/predictions?cursor=")
    pages, page = [first], first
    while page.next is not None and len(pages) < 10:
        page = await client.predictions.async_list(page.next)
        pages.append(page)
    assert [len(p.results) for p in pages] == [2, 2, 1]
    assert [p.id for p in pages for p in p.results] == list(reversed(created))
    back = await client.predictions.async_list(pages[1].previous)
    assert [p.id for p in back.results] == [p.id for p in first.results]


async def test_bad_token_is_401(emulator, make_client):
    intruder = make_client(emulator.base_url, token="wrong")
    with pytest.raises(ReplicateError) as info:
        await intruder.predictions.async_create(model=WAN, input={"prompt": "x"})
    assert info.value.status == 401 and info.value.title == "Unauthenticated"
    async with httpx.AsyncClient() as http:  # and without any header at all
        response = await http.get(f"{emulator.base_url}/v1/predictions")
    assert response.status_code == 401 and response.json()["status"] == 401


@pytest.mark.parametrize(
    "params",
    [
        {"webhook": "ftp://example.test/hook"},
        {"webhook": "not a url"},
        {"webhook": "https://example.test/hook", "webhook_events_filter": ["start", "bogus"]},
    ],
)
async def test_invalid_create_is_422(client, params):
    with pytest.raises(ReplicateError) as info:
        await client.predictions.async_create(model=WAN, input={"prompt": "x"}, **params)
    assert info.value.status == 422


async def test_invalid_bodies_raw(emulator):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{emulator.base_url}/v1/models/{WAN}/predictions"
    async with httpx.AsyncClient(headers=headers) as http:
        not_object = await http.post(url, json={"input": "a string"})
        bad_version = await http.post(
            f"{emulator.base_url}/v1/predictions", json={"version": "", "input": {}}
        )
        too_big = await http.post(url, content=b'{"input": "' + b"a" * (10 * 1024 * 1024) + b'"}')
    assert not_object.status_code == 422
    assert not_object.json()["invalid_fields"][0]["field"] == "input"
    assert bad_version.status_code == 422
    assert too_big.status_code == 413 and too_big.json()["status"] == 413


@pytest.mark.parametrize("status", [500, 429, 422])
async def test_create_errors_knob(client, emulator, status):
    emulator.update_config(
        {"create_error_count": 2, "create_error_status": status, "create_retry_after_s": 3}
    )
    for _ in range(2):
        with pytest.raises(ReplicateError) as info:
            await client.predictions.async_create(model=WAN, input={"prompt": "x"})
        assert info.value.status == status
    assert len(emulator.store) == 0  # the failed creates made nothing
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "x"})
    assert prediction.status == "starting"


async def test_throttled_create_carries_retry_after(emulator):
    emulator.update_config(
        {"create_error_count": 1, "create_error_status": 429, "create_retry_after_s": 7}
    )
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        response = await http.post(
            f"{emulator.base_url}/v1/models/{WAN}/predictions", json={"input": {}}
        )
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


async def test_prefer_wait_returns_the_finished_prediction(client):
    # replicate 1.0.7's predictions.async_create(model=...) drops `wait` before delegating,
    # so the "Prefer: wait" header is sent through the version and models namespaces.
    by_version = await client.predictions.async_create("abc", input={"prompt": "x"}, wait=5)
    by_model = await client.models.predictions.async_create(model=WAN, input={}, wait=5)
    for prediction in (by_version, by_model):
        assert prediction.status == "succeeded" and prediction.output.endswith(".mp4")
    unwaited = await client.predictions.async_create("abc", input={"prompt": "x"})
    assert unwaited.status == "starting"


async def test_aborted_marker_is_visible_in_raw_json(client, emulator, wait_until):
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "[abort]"})
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http:

        async def aborted():
            body = (await http.get(prediction.urls["get"])).json()
            return body if body["status"] == "aborted" else None

        body = await wait_until(aborted)
    assert body["started_at"] is None and body["completed_at"] is not None
    # replicate 1.0.7's model has no "aborted" status, so the client cannot parse it.
    with pytest.raises(Exception, match="status"):
        await client.predictions.async_get(prediction.id)


async def test_pause_freezes_the_lifecycle(client, emulator, wait_until):
    emulator.update_config({"paused": True})
    prediction = await client.predictions.async_create(model=WAN, input={"prompt": "x"})
    await wait_until(lambda: emulator.lifecycle.parked == 1)  # held at the pause
    await prediction.async_reload()
    assert prediction.status == "starting"
    emulator.update_config({"paused": False})
    await prediction.async_wait()
    assert prediction.status == "succeeded"


async def test_failure_rate_is_reproducible_with_a_seed(make_config, make_client):
    async def outcomes() -> list[str]:
        emu = await start_emulator(make_config(failure_rate=0.5, seed=42, step_delay_s=0.0))
        try:
            official = make_client(emu.base_url)
            statuses = []
            for i in range(12):
                p = await official.predictions.async_create(model=WAN, input={"prompt": str(i)})
                await p.async_wait()
                statuses.append(p.status)
            return statuses
        finally:
            await emu.stop()

    first, second = await outcomes(), await outcomes()
    assert first == second
    assert set(first) == {"succeeded", "failed"}


async def test_store_forgets_the_oldest_finished_predictions(client, emulator):
    emulator.update_config({"max_predictions": 3})
    ids = []
    for i in range(5):
        p = await client.predictions.async_create(model=WAN, input={"prompt": str(i)})
        await p.async_wait()
        ids.append(p.id)
    assert len(emulator.store) == 3
    page = await client.predictions.async_list()
    assert [p.id for p in page.results] == list(reversed(ids[2:]))
    with pytest.raises(ReplicateError):
        await client.predictions.async_get(ids[0])


async def test_store_refuses_when_everything_is_still_running(client, emulator):
    emulator.update_config({"max_predictions": 1})
    running = await client.predictions.async_create(model=WAN, input={"prompt": "[hang]"})
    with pytest.raises(ReplicateError) as info:
        await client.predictions.async_create(model=WAN, input={"prompt": "x"})
    assert info.value.status == 429
    await client.predictions.async_cancel(running.id)  # now it may be forgotten
    replacement = await client.predictions.async_create(model=WAN, input={"prompt": "x"})
    assert [p.id for p in (await client.predictions.async_list()).results] == [replacement.id]


async def test_slow_marker_slows_only_that_prediction(client, emulator):
    emulator.update_config({"step_delay_s": 0.02, "slow_factor": 50})
    slow = await client.predictions.async_create(model=WAN, input={"prompt": "[slow] x"})
    normal = await client.predictions.async_create(model=WAN, input={"prompt": "x"})
    await normal.async_wait()  # about 5 steps of 0.02 s; the slow one needs 1 s per step
    await slow.async_reload()
    assert normal.status == "succeeded" and slow.status == "starting"
    await slow.async_cancel()


async def test_webhook_secret_endpoint(client, emulator):
    secret = await client.webhooks.default.async_secret()
    assert secret.key == emulator.webhook_secret and secret.key.startswith("whsec_")
