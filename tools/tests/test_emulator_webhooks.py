"""Webhooks: signed like Replicate's (checked independently), filtered, retried, faulted."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from replicate.webhook import Webhooks
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from replicate_emulator import generate_webhook_secret

WAN = "wavespeedai/wan-2.1-t2v-480p"
RANK = {"starting": 0, "processing": 1, "succeeded": 2, "failed": 2, "canceled": 2}


def statuses(receiver) -> list[str]:
    return [json.loads(r.body)["status"] for r in receiver.requests]


async def deliveries(emulator, prediction_id: str) -> dict:
    url = f"{emulator.base_url}/_emulator/predictions/{prediction_id}/deliveries"
    async with httpx.AsyncClient() as http:  # the control API needs no token
        response = await http.get(url)
    assert response.status_code == 200
    return response.json()


async def drained(emulator, prediction_id: str, wait_until) -> dict:
    """Wait until the prediction is terminal and its outbox is empty."""

    async def done():
        state = await deliveries(emulator, prediction_id)
        finished = state["status"] in ("succeeded", "failed", "canceled", "aborted")
        return state if finished and state["pending"] == 0 else None

    return await wait_until(done)


async def test_all_events_arrive_signed_in_order(client, emulator, receiver, wait_until):
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "a cat"}, webhook=receiver.url
    )
    await drained(emulator, prediction.id, wait_until)
    verifier = Webhook(emulator.webhook_secret)
    secret = await client.webhooks.default.async_secret()
    bodies = []
    for request in receiver.requests:
        bodies.append(verifier.verify(request.body, request.headers))  # raises if unsigned
        Webhooks.validate(headers=request.headers, body=request.body.decode(), secret=secret)
        assert request.headers["webhook-signature"].startswith("v1,")
        assert request.headers["content-type"] == "application/json"
    assert all(body["id"] == prediction.id for body in bodies)
    got = statuses(receiver)
    assert got[0] == "starting" and got[-1] == "succeeded"
    assert "processing" in got
    assert [RANK[s] for s in got] == sorted(RANK[s] for s in got)  # never goes backwards
    assert bodies[-1]["output"] == f"{emulator.base_url}/files/{prediction.id}.mp4"
    # start + processing's first logs + progress_steps logs + output + completed
    assert len(got) == 1 + 1 + emulator.config.progress_steps + 1 + 1
    assert len({r.webhook_id for r in receiver.requests}) == len(receiver.requests)


async def test_a_wrong_secret_does_not_verify(client, emulator, receiver, wait_until):
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url, webhook_events_filter=["start"]
    )
    await drained(emulator, prediction.id, wait_until)
    request = receiver.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_webhook_secret()).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):  # tampered body
        Webhook(emulator.webhook_secret).verify(request.body + b" ", request.headers)


async def test_events_filter_completed_only(client, emulator, receiver, wait_until):
    prediction = await client.predictions.async_create(
        model=WAN,
        input={"prompt": "x [fail]"},
        webhook=receiver.url,
        webhook_events_filter=["completed"],
    )
    await drained(emulator, prediction.id, wait_until)
    assert statuses(receiver) == ["failed"]
    body = json.loads(receiver.requests[0].body)
    assert body["error"] and body["webhook_events_filter"] == ["completed"]


async def test_events_filter_start_and_output(client, emulator, receiver, wait_until):
    prediction = await client.predictions.async_create(
        model=WAN,
        input={"prompt": "x"},
        webhook=receiver.url,
        webhook_events_filter=["start", "output"],
    )
    await drained(emulator, prediction.id, wait_until)
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert [b["status"] for b in bodies] == ["starting", "processing"]
    assert bodies[0]["output"] is None and bodies[1]["output"].endswith(".mp4")


async def test_cancel_sends_completed(client, emulator, receiver, wait_until):
    prediction = await client.predictions.async_create(
        model=WAN,
        input={"prompt": "[hang]"},
        webhook=receiver.url,
        webhook_events_filter=["completed"],
    )
    await client.predictions.async_cancel(prediction.id)
    await drained(emulator, prediction.id, wait_until)
    assert statuses(receiver) == ["canceled"]


async def test_retries_keep_the_webhook_id(client, emulator, receiver, wait_until):
    receiver.plan = [500, 500]  # then 200
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url, webhook_events_filter=["completed"]
    )
    state = await drained(emulator, prediction.id, wait_until)
    assert len(receiver.requests) == 3
    assert len({r.webhook_id for r in receiver.requests}) == 1
    for request in receiver.requests:  # every attempt is signed on its own
        Webhook(emulator.webhook_secret).verify(request.body, request.headers)
    attempts = [(d["attempt"], d["http_status"], d["outcome"]) for d in state["deliveries"]]
    assert attempts == [(1, 500, "failed"), (2, 500, "failed"), (3, 200, "delivered")]


async def test_retries_are_bounded(client, emulator, receiver, wait_until):
    emulator.update_config({"webhook_max_attempts": 3})
    receiver.plan = [503] * 10
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url, webhook_events_filter=["completed"]
    )
    state = await drained(emulator, prediction.id, wait_until)
    assert len(receiver.requests) == 3
    assert [d["outcome"] for d in state["deliveries"]] == ["failed"] * 3


async def test_connection_errors_are_retried(client, emulator, wait_until):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    emulator.update_config({"webhook_max_attempts": 2})
    prediction = await client.predictions.async_create(
        model=WAN,
        input={"prompt": "x"},
        webhook=f"http://127.0.0.1:{port}/hook",
        webhook_events_filter=["completed"],
    )
    state = await drained(emulator, prediction.id, wait_until)
    assert [d["attempt"] for d in state["deliveries"]] == [1, 2]
    assert all(d["http_status"] is None and d["error"] for d in state["deliveries"])


async def test_duplicates_share_the_webhook_id(client, emulator, receiver, wait_until):
    emulator.update_config({"webhook_duplicates": 2})
    prediction = await client.predictions.async_create(
        model=WAN,
        input={"prompt": "x"},
        webhook=receiver.url,
        webhook_events_filter=["start", "completed"],
    )
    await drained(emulator, prediction.id, wait_until)
    ids = [r.webhook_id for r in receiver.requests]
    assert len(ids) == 6 and len(set(ids)) == 2
    assert ids[0] == ids[1] == ids[2] and ids[3] == ids[4] == ids[5]
    assert statuses(receiver) == ["starting"] * 3 + ["succeeded"] * 3


async def test_drop_all_sends_nothing(client, emulator, receiver, wait_until):
    emulator.update_config({"webhook_drop_all": True})
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url
    )
    state = await drained(emulator, prediction.id, wait_until)  # every delivery decided
    assert receiver.requests == []
    assert state["deliveries"] and all(d["outcome"] == "dropped" for d in state["deliveries"])


async def test_drop_rate_drops_some(client, emulator, receiver, wait_until):
    emulator.update_config({"webhook_drop_rate": 0.5, "progress_steps": 20})
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url
    )
    state = await drained(emulator, prediction.id, wait_until)
    outcomes = [d["outcome"] for d in state["deliveries"]]
    assert 0 < outcomes.count("dropped") < len(outcomes)
    assert len(receiver.requests) == outcomes.count("delivered")


async def test_reorder_sends_completed_before_an_update(client, emulator, receiver, wait_until):
    emulator.update_config({"webhook_reorder": True})
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url
    )
    await drained(emulator, prediction.id, wait_until)
    got = statuses(receiver)
    assert got[0] == "starting" and "succeeded" in got
    assert got.index("succeeded") < len(got) - 1  # something came after the terminal one
    assert got[-1] == "processing"


async def test_pause_stops_lifecycle_webhooks(client, emulator, receiver, wait_until):
    emulator.update_config({"paused": True})
    prediction = await client.predictions.async_create(
        model=WAN, input={"prompt": "x"}, webhook=receiver.url
    )
    await wait_until(lambda: len(receiver.requests) == 1)  # "start" goes out at creation
    await wait_until(lambda: emulator.lifecycle.parked == 1)  # held at the pause
    assert (await deliveries(emulator, prediction.id))["status"] == "starting"
    assert statuses(receiver) == ["starting"]
    emulator.update_config({"paused": False})
    await drained(emulator, prediction.id, wait_until)
    assert statuses(receiver)[-1] == "succeeded"
