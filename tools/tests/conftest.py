"""Fixtures: a fast emulator, the official client pointed at it, and a webhook receiver.

Helpers are handed out as fixtures because with --import-mode=importlib test modules
cannot import each other or this file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import replicate
from aiohttp import web

from replicate_emulator import Emulator, EmulatorConfig, start_emulator
from videogen_common.testing.waits import eventually

TOKEN = "r8_test_token"
WAN = "wavespeedai/wan-2.1-t2v-480p"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """A real HTTP server that records webhooks; `plan` lists statuses for the next answers."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    plan: list[int] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        # Lower-case names, as HTTP headers are case-insensitive.
        self.requests.append(Received({k.lower(): v for k, v in request.headers.items()}, body))
        return web.Response(status=self.plan.pop(0) if self.plan else 200)


def fast_config(**overrides: Any) -> EmulatorConfig:
    values: dict[str, Any] = dict(
        api_token=TOKEN,
        step_delay_s=0.01,
        progress_steps=3,
        webhook_backoff_base_s=0.02,
        webhook_backoff_max_s=0.1,
        webhook_timeout_s=2.0,
    )
    values.update(overrides)
    return EmulatorConfig(**values)


@pytest.fixture
def make_config() -> Callable[..., EmulatorConfig]:
    return fast_config


@pytest.fixture
def wait_until() -> Callable[..., Awaitable[Any]]:
    return eventually


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = await start_emulator(fast_config())
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., replicate.Client]]:
    """Official clients that are closed after the test (the client has no close of its own)."""
    made: list[replicate.Client] = []

    def make(base_url: str, token: str = TOKEN) -> replicate.Client:
        official = replicate.Client(api_token=token, base_url=base_url)
        official.poll_interval = 0.02  # the client's wait() sleeps this long between polls
        made.append(official)
        return official

    yield make
    for official in made:
        await official._async_client.aclose()


@pytest.fixture
def client(emulator: Emulator, make_client: Callable[..., replicate.Client]) -> replicate.Client:
    return make_client(emulator.base_url)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield rec
    finally:
        await runner.cleanup()
