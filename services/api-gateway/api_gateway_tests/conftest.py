"""API gateway fixtures: the real gateway on port 0, the real credits service behind it
(every signed-in request opens the caller's account first, as the seed system did), and
no generation service: its address is a port where nothing listens, so whatever these
tests see answered (401, 422, CORS, the OpenAPI document) the gateway decided itself,
and an answer that needs generations is its 503.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from videogen_api_gateway.main import start
from videogen_api_gateway.settings import ApiGatewaySettings
from videogen_common.testing.http import ApiClient
from videogen_common.testing.waits import free_port
from videogen_credits.main import start as start_credits
from videogen_credits.settings import CreditsSettings

JWT_SECRET = "service-test-jwt-secret-with-32-chars!"
ORIGIN = "http://app.example.test"
EVENTS_SECRET = "service-test-events-secret-of-32-chars"
CREDITS_INI = Path(__file__).resolve().parents[2] / "credits" / "alembic.ini"
CREDITS_TOKENS = {"api": "service-test-credits-token", "admin": "service-test-credits-admin"}


@pytest.fixture
async def credits_app(fresh_database):
    app = await start_credits(
        CreditsSettings(
            _env_file=None,
            database_url=fresh_database(CREDITS_INI),
            credits_caller_tokens=CREDITS_TOKENS,
            credits_grpc_address="127.0.0.1:0",
        )
    )
    yield app
    await app.stop(0)


def api_values(media_dir: Path, credits_port: int, **overrides) -> dict:
    values = dict(
        api_gateway_port=0,
        auth_jwt_secret=JWT_SECRET,
        api_gateway_events_secret=EVENTS_SECRET,
        allowed_origins=ORIGIN,
        credits_address=f"127.0.0.1:{credits_port}",
        api_gateway_credits_token=CREDITS_TOKENS["api"],
        api_gateway_credits_admin_token=CREDITS_TOKENS["admin"],
        generation_address=f"127.0.0.1:{free_port()}",
        api_gateway_generation_token="service-test-generation-token",
        api_gateway_upstream_timeout_s=1.0,
        api_gateway_media_dir=media_dir,
    )
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@asynccontextmanager
async def running_api(values: dict) -> AsyncIterator[ApiClient]:
    app = await start(ApiGatewaySettings(_env_file=None, **values))
    try:
        async with aiohttp.ClientSession(base_url=app.base_url) as session:
            yield ApiClient(app, session, values, JWT_SECRET)
    finally:
        await app.stop()


@pytest.fixture
async def api(tmp_path, credits_app):
    async with running_api(api_values(tmp_path / "media", credits_app.port)) as client:
        yield client
