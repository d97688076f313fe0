"""Stored media through signed, expiring links; uploads only by their owner; outputs
fetched only from the provider's hosts."""

import time
import uuid
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from videogen.generation.v1 import generation_pb2 as gpb
from videogen_common import media_urls
from videogen_common.service_main import start_site

from .conftest import MEDIA_URL_SECRET

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PROMPT = "the cat in this photo starts to dance"


def _local(url: str) -> str:
    """The path and query of a media link: the gateway under test is on its own port."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def _completed(api, user, gid, wait_for) -> dict:
    async def done():
        status, body, _ = await api.call("GET", f"/api/generation/status/{gid}", user)
        return body if status == 200 and body["video_url"] else None

    return await wait_for(done)


async def _upload(api, user) -> dict:
    form = aiohttp.FormData()
    form.add_field("prompt", PROMPT)
    form.add_field("image", PNG, filename="cat.png", content_type="image/png")
    status, body, _ = await api.call("POST", "/api/generation/image-to-video", user, data=form)
    assert status == 200, body
    return body


async def test_videos_are_served_through_signed_links_only(api, stack, wait_for):
    user = str(uuid.uuid4())
    status, created, _ = await api.call(
        "POST", "/api/generation/text-to-video", user, json={"prompt": "a red fox in the snow"}
    )
    assert status == 200
    link = (await _completed(api, user, created["id"], wait_for))["video_url"]
    assert "signature=" in link and "expires=" in link
    stored = stack.generation_app.flow.storage.directory / f"videos/{created['id']}.mp4"
    async with api.session.get(_local(link)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "video/mp4"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert await response.read() == stored.read_bytes()
    path = urlsplit(link).path
    relative = path.removeprefix("/media/")
    expired = media_urls.sign(MEDIA_URL_SECRET, relative, 1, now=time.time() - 3600)
    forged = media_urls.sign("another-secret-of-at-least-32-chars", relative, 600)
    other = f"videos/{uuid.uuid4()}.mp4"
    for attempt in (
        path,  # unsigned
        f"{path}?{expired}",
        f"{path}?{forged}",
        f"{_local(link)}0",  # signature tampered
        f"/media/{other}?{media_urls.sign(MEDIA_URL_SECRET, relative, 600)}",  # not its path
    ):
        async with api.session.get(attempt) as response:
            assert response.status == 403, attempt
    # Signed, but for a file that does not exist: nothing more is learned than that.
    async with api.session.get(
        f"/media/{other}?{media_urls.sign(MEDIA_URL_SECRET, other, 600)}"
    ) as r:
        assert r.status == 404


async def test_an_upload_can_be_reused_by_its_owner_only(api, stack):
    owner, other = str(uuid.uuid4()), str(uuid.uuid4())
    first = await _upload(api, owner)
    link = first["image_url"]
    assert "signature=" in link
    async with api.session.get(_local(link)) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = {"prompt": PROMPT, "image_url": link}
    status, refused, _ = await api.call("POST", "/api/generation/image-to-video", other, json=body)
    assert status == 422 and [d["loc"][-1] for d in refused["detail"]] == ["image_url"]
    assert (await api.call("GET", "/api/users/credits", other))[1]["credits"] == 100
    # A link of ours to something that is not an upload is refused the same way.
    video_link = link.replace("/inputs/", "/videos/").rsplit(".", 1)[0] + ".mp4"
    status, _, _ = await api.call(
        "POST", "/api/generation/image-to-video", owner, json={**body, "image_url": video_link}
    )
    assert status == 422
    status, reused, _ = await api.call("POST", "/api/generation/image-to-video", owner, json=body)
    assert status == 200
    row = await stack.generation_app.flow.repo.get(reused["id"])
    assert row.image_url == link.split("?")[0]  # stored without the expiring signature
    assert "signature=" in row.provider_input["image"]  # Replicate fetches it through a signed link


async def _internal_server():
    """Stands for something inside the cluster an attacker would like fetched."""
    hits: list[str] = []

    async def secret(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"internal metadata")

    app = web.Application()
    app.router.add_get("/{tail:.*}", secret)
    runner, port = await start_site(app, "127.0.0.1", 0)
    return runner, port, hits


async def test_an_output_url_off_the_provider_hosts_is_never_fetched(
    stack, paused_generation, send_webhook, wait_for
):
    user, gen, prediction_id = paused_generation
    runner, port, hits = await _internal_server()
    try:
        status, _ = await send_webhook(
            gen.id,
            {
                "id": prediction_id,
                "status": "succeeded",
                "output": f"http://127.0.0.1:{port}/latest/meta-data",
                "logs": "",
                "error": None,
            },
        )
        assert status == 200

        async def settled():
            found = await stack.generation_app.flow.repo.get(gen.id)
            return found if found.copy_lost else None

        row = await wait_for(settled)
    finally:
        await runner.cleanup()
    assert hits == []
    shown = (
        await stack.generation_api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=gen.id)
        )
    ).generation
    assert row.video_url is None and shown.video_url == ""
