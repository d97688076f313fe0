"""Asymmetric user tokens from a JWKS URL, and access logs that never carry a token."""

import json
import logging
import time
import uuid

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@pytest.fixture
async def jwks():
    """A JWKS endpoint on loopback serving one RSA key; yields (url, private key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "test-key", "use": "sig", "alg": "RS256"})
    app = web.Application()

    async def serve_keys(request):
        return web.json_response({"keys": [public]})

    app.router.add_get("/jwks.json", serve_keys)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/jwks.json", key
    await runner.cleanup()


@pytest.fixture
def api_settings_overrides(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize(
    "api_settings_overrides", [{"auth_jwks_url": "set-by-test"}], indirect=True
)
async def test_rs256_tokens_from_a_jwks_url(stack, jwks, tmp_path, api_settings_overrides):
    import aiohttp

    from videogen_api_gateway.main import start as start_api
    from videogen_api_gateway.settings import ApiGatewaySettings

    url, key = jwks
    base = dict(
        api_gateway_port=0,
        auth_jwks_url=url,
        api_gateway_events_secret="e2e-events-secret-of-at-least-32-chars",
        allowed_origins="http://a.test",
        credits_address=f"127.0.0.1:{stack.credits_app.port}",
        api_gateway_credits_token="e2e-api-credits-token-000",
        api_gateway_credits_admin_token="e2e-admin-token-000000",
        generation_address=f"127.0.0.1:{stack.generation_app.port}",
        api_gateway_generation_token="e2e-api-generation-token",
        api_gateway_media_dir=tmp_path,
    )
    app = await start_api(ApiGatewaySettings(_env_file=None, **base))
    user = str(uuid.uuid4())
    claims = {"sub": user, "aud": "authenticated", "exp": int(time.time()) + 600}
    good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})
    other_key = jwt.encode(claims, "an-hs256-secret-of-enough-length!!", algorithm="HS256")
    try:
        async with aiohttp.ClientSession(base_url=app.base_url) as session:
            async with session.get(
                "/api/users/credits", headers={"Authorization": f"Bearer {good}"}
            ) as r:
                assert (r.status, (await r.json())["credits"]) == (200, 100)
            async with session.get(
                "/api/users/credits", headers={"Authorization": f"Bearer {other_key}"}
            ) as r:
                assert r.status == 401
    finally:
        await app.stop()


async def test_access_logs_name_the_path_but_never_a_token(api, caplog, wait_for):
    user = str(uuid.uuid4())
    # aiohttp decides per connection whether to log: enable INFO before the first request.
    with caplog.at_level(logging.INFO, logger="videogen_api_gateway.access"):
        _, minted, _ = await api.call("POST", "/api/events/token", user)
        token = minted["token"]
        await api.call("GET", f"/api/users/credits?token={token}", user)
        await api.call("GET", "/api/users/me", user)

        def access_lines():  # each is written just after its response
            lines = [r for r in caplog.records if r.name == "videogen_api_gateway.access"]
            return (
                lines
                if {r.path for r in lines} >= {"/api/users/credits", "/api/users/me"}
                else None
            )

        lines = await wait_for(access_lines)
    bearer = api.auth(user)["Authorization"].split()[1]
    for record in lines:
        text = json.dumps(record.__dict__, default=str)
        assert token not in text and bearer not in text
