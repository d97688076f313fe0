"""Generation rate limits: shared by every replica through Redis (the machine's own, on
loopback), and not used up by requests refused as invalid."""

import uuid

import aiohttp
import pytest

from videogen_api_gateway.main import start as start_api
from videogen_api_gateway.settings import ApiGatewaySettings
from videogen_common.testing.http import ApiClient

PROMPT = "a red fox running through fresh snow"
REDIS = {"api_gateway_rate_limit_storage": "redis://127.0.0.1:6379"}


async def _create(api, user, **fields) -> int:
    body = {"prompt": PROMPT, "resolution": "480p", **fields}
    return (await api.call("POST", "/api/generation/text-to-video", user, json=body))[0]


@pytest.mark.parametrize(
    "api_settings_overrides", [{**REDIS, "api_gateway_generation_rate_limit": "3/minute"}]
)
async def test_two_replicas_share_one_limit_through_redis(api):
    second = await start_api(ApiGatewaySettings(_env_file=None, **api.settings))
    try:
        async with aiohttp.ClientSession(base_url=second.base_url) as session:
            other = ApiClient(second, session, api.settings, api.jwt_secret)
            user = str(uuid.uuid4())  # a key no earlier run used: nothing left over counts
            codes = [await _create(replica, user) for replica in (api, other, api, other)]
    finally:
        await second.stop()
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize(
    "api_settings_overrides", [{"api_gateway_generation_rate_limit": "2/minute"}]
)
async def test_requests_refused_as_invalid_use_up_nothing(api):
    owner, user = str(uuid.uuid4()), str(uuid.uuid4())
    form = aiohttp.FormData()
    form.add_field("prompt", "the cat in this photo starts to dance")
    form.add_field("image", b"\x89PNG\r\n\x1a\n" + bytes(64), filename="c.png")
    status, upload, _ = await api.call("POST", "/api/generation/image-to-video", owner, data=form)
    assert status == 200
    invalid = [
        await _create(api, user, prompt="short"),  # refused by the gateway
        await _create(api, user, resolution="4k"),
        (  # refused by generation: someone else's upload
            await api.call(
                "POST",
                "/api/generation/image-to-video",
                user,
                json={"prompt": PROMPT, "image_url": upload["image_url"]},
            )
        )[0],
    ]
    assert invalid == [422, 422, 422]
    assert [await _create(api, user) for _ in range(3)] == [200, 200, 429]
