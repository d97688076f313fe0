"""GET /api/events: a generation's progress and final state and a balance change, over
Server-Sent Events, opened as a browser EventSource would (a token in the URL)."""

import asyncio
import json
import uuid

PROMPT = "a red fox running through fresh snow"


async def read_events(response, until, timeout_s: float = 15.0) -> list[dict]:
    """Parse the SSE stream into {event, id, data} dicts until ``until(events)``."""
    events, current = [], {}
    async with asyncio.timeout(timeout_s):
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if not line:
                if "data" in current:
                    current["data"] = json.loads(current["data"])
                    events.append(current)
                    if until(events):
                        return events
                current = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(":")
                current[field] = value.lstrip(" ")
    raise AssertionError("stream ended")


async def test_events_carry_progress_final_state_and_balance(api):
    user = str(uuid.uuid4())
    status, minted, _ = await api.call("POST", "/api/events/token", user)
    assert status == 200 and minted["expires_in"] == 60
    async with api.session.get(f"/api/events?token={minted['token']}") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        first = await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
        assert first[-1]["data"]["credits"] == 100
        _, created, _ = await api.call(
            "POST",
            "/api/generation/text-to-video",
            user,
            json={"prompt": PROMPT, "resolution": "480p"},
        )

        def finished(events):
            return any(
                e["event"] == "generation"
                and e["data"]["status"] == "completed"
                and e["data"]["video_url"]
                for e in events
            )

        events = await read_events(response, finished)
    generation = [e["data"] for e in events if e["event"] == "generation"]
    assert {g["id"] for g in generation} == {created["id"]}
    progress = [g["progress"] for g in generation]
    assert progress == sorted(progress) and progress[-1] == 100
    assert any(0 < p < 100 for p in progress)
    balances = [e["data"]["credits"] for e in events if e["event"] == "balance"]
    assert balances[-1] == 90
    ids = [e["id"] for e in events if e.get("id")]
    assert len(ids) == len(set(ids)) and ids  # a hold moves no log forward: no new id


async def test_resume_with_last_event_id_skips_what_the_client_has(api):
    user = str(uuid.uuid4())
    headers = api.auth(user)
    async with api.session.get("/api/events", headers=headers) as response:
        first = await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
    last_id = first[-1]["id"]
    async with api.session.get(
        "/api/events", headers={**headers, "Last-Event-ID": last_id}
    ) as response:
        await api.call(
            "POST",
            "/api/generation/text-to-video",
            user,
            json={"prompt": PROMPT, "resolution": "480p"},
        )
        events = await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
    balance = [e for e in events if e["event"] == "balance"]
    assert balance[0]["data"]["credits"] == 90  # held for the generation
    assert last_id not in [e.get("id") for e in events]


async def test_events_refuse_a_bad_or_missing_token(api):
    for path in ("/api/events", "/api/events?token=forged"):
        async with api.session.get(path) as response:
            assert response.status == 401


def _ids(events) -> list[tuple[int, int]]:
    pairs = []
    for event in events:
        if event.get("id"):
            entry, _, log = event["id"].partition("-")
            pairs.append((int(entry), int(log)))
    return pairs


def _strictly_forward(pairs) -> bool:
    return all(
        a[0] <= b[0] and a[1] <= b[1] and a != b for a, b in zip(pairs, pairs[1:], strict=False)
    )


async def test_a_reconnect_gets_every_missed_event_in_order_from_any_replica(api, stack):
    """The client leaves mid-generation and comes back, to another gateway replica,
    after the generation finished: it gets the progress and the final state it missed,
    in order, and no event id twice."""
    import aiohttp

    from videogen_api_gateway.main import start as start_api
    from videogen_api_gateway.settings import ApiGatewaySettings

    stack.emulator.update_config({"paused": True})
    user = str(uuid.uuid4())
    headers = api.auth(user)
    async with api.session.get("/api/events", headers=headers) as response:
        first = await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
        _, created, _ = await api.call(
            "POST",
            "/api/generation/text-to-video",
            user,
            json={"prompt": PROMPT, "resolution": "480p"},
        )
        first += await read_events(
            response, lambda e: any(x["event"] == "generation" and x.get("id") for x in e)
        )
    last_id = [e["id"] for e in first if e.get("id")][-1]
    stack.emulator.update_config({"paused": False})
    for _ in range(300):
        _, status, _ = await api.call("GET", f"/api/generation/status/{created['id']}", user)
        if status["status"] == "completed" and status["video_url"]:
            break
        await asyncio.sleep(0.05)
    other = await start_api(
        ApiGatewaySettings(_env_file=None, **{k: v for k, v in api.settings.items()})
    )
    try:
        async with aiohttp.ClientSession(base_url=other.base_url) as session:
            async with session.get(
                "/api/events", headers={**headers, "Last-Event-ID": last_id}
            ) as again:
                missed = await read_events(
                    again,
                    lambda e: any(
                        x["event"] == "generation"
                        and x["data"]["status"] == "completed"
                        and x["data"]["video_url"]
                        for x in e
                    ),
                )
    finally:
        await other.stop()
    progress = [e["data"]["progress"] for e in missed if e["event"] == "generation"]
    assert progress == sorted(progress) and progress[-1] == 100 and len(progress) >= 2
    sent = _ids(first) + _ids(missed)
    assert _strictly_forward(sent), sent
    assert len(set(sent)) == len(sent)


async def test_a_client_that_leaves_is_not_an_error(api, caplog, wait_for):
    import logging

    from prometheus_client import REGISTRY

    def answered(status: str | None = None) -> float:
        """/api/events requests whose handler has returned (with this status)."""
        return sum(
            s.value
            for metric in REGISTRY.collect()
            if metric.name == "http_requests"
            for s in metric.samples
            if s.name == "http_requests_total"
            and s.labels.get("route") == "/api/events"
            and status in (None, s.labels.get("status"))
        )

    before, errors_before = answered(), answered("500")
    user = str(uuid.uuid4())
    caplog.set_level(logging.INFO)
    for _ in range(3):
        async with api.session.get("/api/events", headers=api.auth(user)) as response:
            await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
            response.connection.transport.abort()  # gone without a goodbye
    await wait_for(lambda: answered() == before + 3)  # each stream has been wound up
    assert answered("500") == errors_before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_open_streams_per_user_are_capped(api):
    """Each open stream holds two upstream watches: one user cannot hold them all."""
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    cap = 5  # API_GATEWAY_EVENTS_STREAMS_PER_USER_MAX's default
    opened = []
    try:
        for _ in range(cap):
            response = await api.session.get("/api/events", headers=api.auth(user))
            opened.append(response)
            assert response.status == 200
            await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
        async with api.session.get("/api/events", headers=api.auth(user)) as refused:
            assert refused.status == 429 and "Retry-After" in refused.headers
        async with api.session.get("/api/events", headers=api.auth(other)) as theirs:
            assert theirs.status == 200  # the cap is per user
        opened.pop().close()  # one leaves: its slot comes back
        async with asyncio.timeout(10):
            while True:
                async with api.session.get("/api/events", headers=api.auth(user)) as again:
                    if again.status == 200:
                        break
                    assert again.status == 429
                await asyncio.sleep(0.05)
    finally:
        for response in opened:
            response.close()
