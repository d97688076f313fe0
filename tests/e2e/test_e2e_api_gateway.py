"""The seed system's HTTP API, drop-in, driven over HTTP against the real services."""

import asyncio
import uuid

import pytest

SEED_CREATE_FIELDS = {
    "id",
    "status",
    "video_url",
    "error",
    "created_at",
    "completed_at",
    "credits_used",
}
SEED_STATUS_FIELDS = {"id", "status", "progress", "video_url", "error", "logs"}
PROMPT = "a red fox running through fresh snow"


def new_user() -> str:
    return str(uuid.uuid4())


async def _until_completed(api, user, gid, wait_for):
    async def done():
        status, body, _ = await api.call("GET", f"/api/generation/status/{gid}", user)
        return (
            body if status == 200 and body["status"] == "completed" and body["video_url"] else None
        )

    return await wait_for(done)


async def test_seed_routes_and_shapes_end_to_end(api, stack, wait_for):
    user = new_user()
    status, body, _ = await api.call("GET", "/api/users/credits", user)
    assert (status, body["credits"], body["low_balance"]) == (200, 100, False)
    status, created, _ = await api.call(
        "POST", "/api/generation/text-to-video", user, json={"prompt": PROMPT}
    )
    assert status == 200 and set(created) >= SEED_CREATE_FIELDS
    assert (created["credits_used"], created["status"]) == (20, "processing")
    assert (created["model"], created["resolution"], created["duration"]) == ("t2v-14B", "720p", 5)
    final = await _until_completed(api, user, created["id"], wait_for)
    assert set(final) == SEED_STATUS_FIELDS and final["progress"] == 100
    async with api.session.get(final["video_url"].replace("http://127.0.0.1:8000", "")) as r:
        assert r.status == 200 and b"ftyp" in (await r.read())[:32]
    status, history, _ = await api.call("GET", "/api/generation/history", user)
    assert [g["id"] for g in history["generations"]] == [created["id"]]
    [item] = history["generations"]
    job = stack.emulator.store.all()[-1]
    assert (item["type"], item["job_id"], item["error_message"]) == ("text-to-video", job.id, None)
    # A cancel after the end says so in the API's words.
    status, refused, _ = await api.call("POST", f"/api/generation/{created['id']}/cancel", user)
    assert (status, refused["status"]) == (409, "completed")
    assert refused["detail"] == "The generation already ended: completed"
    status, me, _ = await api.call("GET", "/api/users/me", user)
    assert (me["id"], me["credits"], me["subscription_tier"]) == (user, 80, "free")
    status, txs, _ = await api.call("GET", "/api/users/transactions", user)
    assert [(t["type"], t["amount"]) for t in txs["transactions"]] == [
        ("deduction", -20),
        ("bonus", 100),
    ]
    assert txs["transactions"][0]["generation_id"] == created["id"]


async def test_insufficient_credits_is_402_with_balance_and_price(api, stack):
    user = new_user()
    for _ in range(5):  # 5 x 20 of the 100 signup credits
        status, _, _ = await api.call(
            "POST", "/api/generation/text-to-video", user, json={"prompt": PROMPT}
        )
        assert status == 200
    status, body, _ = await api.call(
        "POST", "/api/generation/text-to-video", user, json={"prompt": PROMPT}
    )
    body.pop("request_id")
    assert (status, body) == (402, {"detail": "Insufficient credits", "balance": 0, "required": 20})
    status, body, _ = await api.call(
        "POST",
        "/api/generation/image-to-video",
        user,
        json={"prompt": PROMPT, "resolution": "480p", "image_url": "https://x.test/a.png"},
    )
    assert (status, body["required"]) == (402, 15)
    _, credits, _ = await api.call("GET", "/api/users/credits", user)
    assert (credits["credits"], credits["low_balance"]) == (0, True)


async def test_someone_elses_generation_is_404(api):
    owner, other = new_user(), new_user()
    _, created, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        owner,
        json={"prompt": PROMPT, "resolution": "480p"},
    )
    for method, path in (
        ("GET", f"/api/generation/status/{created['id']}"),
        ("POST", f"/api/generation/{created['id']}/cancel"),
        ("GET", "/api/generation/status/not-a-uuid"),
    ):
        status, body, _ = await api.call(method, path, other)
        assert status == 404 and "detail" in body


async def test_idempotency_key_replays_one_generation_charged_once(api):
    user = new_user()
    headers = {"Idempotency-Key": "retry-me-1"}
    answers = await asyncio.gather(
        *(
            api.call(
                "POST",
                "/api/generation/text-to-video",
                user,
                json={"prompt": PROMPT},
                headers=headers,
            )
            for _ in range(3)
        )
    )
    assert {a[0] for a in answers} == {200}
    assert len({a[1]["id"] for a in answers}) == 1
    _, body, _ = await api.call("GET", "/api/users/credits", user)
    assert body["credits"] == 80


@pytest.mark.parametrize(
    "api_settings_overrides", [{"api_gateway_generation_rate_limit": "2/minute"}]
)
async def test_generation_requests_are_rate_limited_per_user(api):
    user, other = new_user(), new_user()
    codes = [
        (
            await api.call(
                "POST",
                "/api/generation/text-to-video",
                user,
                json={"prompt": PROMPT, "resolution": "480p"},
            )
        )[0:3:2]
        for _ in range(3)
    ]
    assert [c for c, _ in codes] == [200, 200, 429]
    assert int(codes[2][1]["Retry-After"]) >= 1
    status, _, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        other,
        json={"prompt": PROMPT, "resolution": "480p"},
    )
    assert status == 200


async def test_admin_grant_is_recorded_with_admin_and_reason(api):
    admin, user = new_user(), new_user()
    status, _, _ = await api.call(
        "POST",
        f"/api/admin/users/{user}/credits",
        user,
        json={"amount": 50, "reason": "self-service?"},
    )
    assert status == 404
    status, body, _ = await api.call(
        "POST",
        f"/api/admin/users/{user}/credits",
        None,
        headers=api.auth(admin, role="admin"),
        json={"amount": 50, "reason": "support ticket 42"},
    )
    assert status == 422 and body["detail"][0]["loc"][-1] == "Idempotency-Key"
    for _ in range(2):  # a retry with the same key grants once
        status, body, _ = await api.call(
            "POST",
            f"/api/admin/users/{user}/credits",
            None,
            headers={**api.auth(admin, role="admin"), "Idempotency-Key": "ticket-42"},
            json={"amount": 50, "reason": "support ticket 42"},
        )
        assert status == 200 and body["credits"] == 150
    assert body["transaction"]["actor"] == f"admin:{admin}"
    assert body["transaction"]["description"] == "support ticket 42"
    status, body, _ = await api.call(
        "POST",
        f"/api/admin/users/{user}/credits",
        None,
        headers=api.auth(admin, role="admin"),
        json={"amount": 50},
    )
    assert status == 422
    status, body, _ = await api.call(
        "GET",
        f"/api/admin/users/{user}/transactions",
        None,
        headers=api.auth(admin, app_metadata={"role": "admin"}),
    )
    assert [t["type"] for t in body["transactions"]] == ["bonus", "bonus"]
    status, body, _ = await api.call(
        "POST", "/api/admin/reconcile", None, headers=api.auth(admin, role="admin")
    )
    assert status == 200 and body["drifts"] == [] and body["accounts_checked"] >= 2


async def test_image_upload_as_multipart(api, stack):
    import aiohttp

    user = new_user()
    form = aiohttp.FormData()
    form.add_field("prompt", "the cat in this photo starts to dance")
    form.add_field("resolution", "480p")
    form.add_field(
        "image",
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        filename="cat.bin",
        content_type="application/octet-stream",
    )
    status, body, _ = await api.call("POST", "/api/generation/image-to-video", user, data=form)
    assert status == 200 and body["credits_used"] == 15 and body["image_url"]
    form = aiohttp.FormData()
    form.add_field("prompt", "the cat in this photo starts to dance")
    form.add_field("image", b"GIF89a" + bytes(64), filename="cat.png")
    status, body, _ = await api.call("POST", "/api/generation/image-to-video", user, data=form)
    assert status == 422 and body["detail"][0]["loc"] == ["body", "image"]


async def test_upstream_down_is_503_not_a_trace(api, stack):
    await stack.credits_app.stop(0)
    status, body, _ = await api.call("GET", "/api/users/credits", new_user())
    assert status == 503 and body["detail"] == "Service temporarily unavailable"


async def test_fields_out_of_the_models_limits_are_422_listing_each(api):
    # The catalog (prompt length, durations, URLs) is the generation service's: its
    # refusals come back as the same 422 shape, one entry per field.
    status, body, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        new_user(),
        json={"prompt": "short", "duration": 11},
    )
    assert status == 422
    assert {d["loc"][1] for d in body["detail"]} == {"prompt", "duration"}
    status, body, _ = await api.call(
        "POST",
        "/api/generation/image-to-video",
        new_user(),
        json={"prompt": PROMPT, "image_url": "https://[::1"},
    )
    assert status == 422 and body["detail"], (status, body)
