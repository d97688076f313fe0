"""The fault knobs the soak suite turns: answers lost after recording, failing lists, lost
predictions, late webhooks and stale replays."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from replicate.exceptions import ReplicateError
from standardwebhooks import Webhook

WAN = "wavespeedai/wan-2.1-t2v-480p"


async def _history(emulator) -> list[dict]:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{emulator.base_url}/_emulator/predictions")).json()["predictions"]


async def test_an_error_after_recording_leaves_a_running_job(client, emulator, wait_until):
    emulator.update_config({"create_error_after_record_count": 1, "create_error_status": 500})
    with pytest.raises(ReplicateError) as failed:
        await client.predictions.async_create(
            model=WAN, input={"prompt": "x"}, webhook="http://127.0.0.1:9/hook"
        )
    assert failed.value.status == 500
    [made] = await _history(emulator)
    assert made["webhook"] == "http://127.0.0.1:9/hook"
    await wait_until(lambda: emulator.store.get(made["id"]).status == "succeeded")
    again = await client.predictions.async_create(model=WAN, input={"prompt": "y"})
    assert again.status == "starting"  # the knob counted down to zero


async def test_list_errors_count_down(emulator):
    emulator.update_config({"list_error_count": 2})
    async with httpx.AsyncClient(headers={"Authorization": "Bearer r8_test_token"}) as http:
        codes = [
            (await http.get(f"{emulator.base_url}/v1/predictions")).status_code for _ in range(3)
        ]
    assert codes == [500, 500, 200]


async def test_a_lost_prediction_is_unknown_and_silent(client, emulator, receiver, wait_until):
    emulator.update_config({"lose_rate": 1.0})
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url
    )
    await wait_until(lambda: emulator.store.get(prediction.id) is None)
    with pytest.raises(ReplicateError) as missing:
        await client.predictions.async_get(prediction.id)
    assert missing.value.status == 404
    [record] = await _history(emulator)
    assert record["lost"] is True and record["status"] != "succeeded"
    # Its lifecycle has ended: nothing more can be sent for it.
    await wait_until(lambda: emulator.store.history[prediction.id].task.done())
    statuses = {r.body for r in receiver.requests}
    assert not any(b'"succeeded"' in body for body in statuses)


async def test_webhooks_can_be_delayed(client, emulator, receiver, wait_until):
    emulator.update_config({"webhook_delay_s": 0.3})
    loop = asyncio.get_running_loop()
    began = loop.time()
    await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url, webhook_events_filter=["start"]
    )
    await wait_until(lambda: receiver.requests)
    assert loop.time() - began >= 0.3


async def test_a_replay_is_an_old_capture_signed_long_ago(client, emulator, receiver, wait_until):
    emulator.update_config({"webhook_replay_rate": 1.0, "webhook_replay_age_s": 900})
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url, webhook_events_filter=["start"]
    )
    await wait_until(lambda: len(receiver.requests) == 2)
    first, replay = receiver.requests
    assert replay.webhook_id == first.webhook_id and replay.body == first.body
    age = int(first.headers["webhook-timestamp"]) - int(replay.headers["webhook-timestamp"])
    assert 895 <= age <= 905
    # Authentic, but only as of back then: signed for its own, old timestamp.
    signed_at = datetime.fromtimestamp(int(replay.headers["webhook-timestamp"]), UTC)
    assert replay.headers["webhook-signature"] == Webhook(emulator.webhook_secret).sign(
        replay.webhook_id, signed_at, replay.body.decode()
    )
    report = emulator.dispatcher.deliveries(prediction.id)
    assert [d["outcome"] for d in report["deliveries"]] == ["delivered", "replayed_stale"]
