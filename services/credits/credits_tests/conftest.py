"""Credits test fixtures: a migrated database and a real server on port 0."""
from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from credits.main import start
from credits.settings import CreditsSettings
from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub

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
    async with grpc.aio.insecure_channel(f"127.0.0.1:{credits_app.port}") as channel:
        yield Callers(channel)
