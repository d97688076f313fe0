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
        _, created, _ = await api.call("POST", "/api/generation/text-to-video", user,
                                       json={"prompt": PROMPT, "resolution": "480p"})

        def finished(events):
            return any(e["event"] == "generation" and e["data"]["status"] == "completed"
                       and e["data"]["video_url"] for e in events)
        events = await read_events(response, finished)
    generation = [e["data"] for e in events if e["event"] == "generation"]
    assert {g["id"] for g in generation} == {created["id"]}
    progress = [g["progress"] for g in generation]
    assert progress == sorted(progress) and progress[-1] == 100
    assert any(0 < p < 100 for p in progress)
    balances = [e["data"]["credits"] for e in events if e["event"] == "balance"]
    assert balances[-1] == 90
    assert all(e["id"] for e in events)


async def test_resume_with_last_event_id_skips_what_the_client_has(api):
    user = str(uuid.uuid4())
    headers = api.auth(user)
    async with api.session.get("/api/events", headers=headers) as response:
        first = await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
    last_id = first[-1]["id"]
    async with api.session.get("/api/events", headers={**headers,
                                                       "Last-Event-ID": last_id}) as response:
        await api.call("POST", "/api/generation/text-to-video", user,
                       json={"prompt": PROMPT, "resolution": "480p"})
        events = await read_events(response, lambda e: any(x["event"] == "balance" for x in e))
    balance = [e for e in events if e["event"] == "balance"]
    assert balance[0]["id"] != last_id and balance[0]["data"]["credits"] == 90


async def test_events_refuse_a_bad_or_missing_token(api):
    for path in ("/api/events", "/api/events?token=forged"):
        async with api.session.get(path) as response:
            assert response.status == 401
