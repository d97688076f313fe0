"""Credits test fixtures: a migrated database and a real server on port 0."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import grpc
import pytest

from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_credits.main import start
from videogen_credits.settings import CreditsSettings

CREDITS_ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
TOKENS = {
    "api": "test-api-token-0123456789",
    "generation": "test-generation-token-0123456789",
    "payments": "test-payments-token-0123456789",
    "admin": "test-admin-token-0123456789",
}


def credits_settings(database_url: str, **overrides) -> CreditsSettings:
    values = dict(
        database_url=database_url,
        credits_caller_tokens=TOKENS,
        credits_grpc_address="127.0.0.1:0",
    )
    values.update(overrides)
    return CreditsSettings(_env_file=None, **values)


class Callers:
    """One stub per internal caller identity, over one real channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        stub = credits_pb2_grpc.CreditsServiceStub(channel)
        self.channel = channel
        self.api = AuthedStub(stub, TOKENS["api"])
        self.generation = AuthedStub(stub, TOKENS["generation"])
        self.payments = AuthedStub(stub, TOKENS["payments"])
        self.admin = AuthedStub(stub, TOKENS["admin"])
        self.anonymous = stub


@pytest.fixture
def credits_db(fresh_database) -> str:
    return fresh_database(CREDITS_ALEMBIC_INI)


@pytest.fixture
async def credits_app(credits_db):
    app = await start(credits_settings(credits_db))
    yield app
    await app.stop(0)


@pytest.fixture
async def credits(credits_app) -> Callers:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{credits_app.port}")
    yield Callers(channel)
    # Bounded: a close that waits on a call the server already ended must not hang a run.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(channel.close(), 10)


@pytest.fixture(scope="module")
def threaded_server(pg_server_url, migrated_template):
    """A real credits server on its own event loop thread, for a synchronous client
    (Hypothesis drives it): yields its port and its app."""
    from videogen_common.testing.pg import create_database, drop_database, unique_name

    name = unique_name("vg_test")
    url = create_database(pg_server_url, name, migrated_template(CREDITS_ALEMBIC_INI))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = asyncio.run_coroutine_threadsafe(start(credits_settings(url)), loop).result(30)
    yield ThreadedServer(app.port, app, loop, url)
    asyncio.run_coroutine_threadsafe(app.stop(0), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    drop_database(pg_server_url, name)


class ThreadedServer:
    def __init__(self, port, app, loop, database_url) -> None:
        self.port, self.app, self.loop, self.database_url = port, app, loop, database_url

    def run(self, coroutine):
        """Run a coroutine on the server's loop (its sweeps, say) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)
