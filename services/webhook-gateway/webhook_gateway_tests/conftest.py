"""Webhook gateway fixtures: the real gateway on port 0, on a fresh migrated database.

Its downstream services are addresses where nothing listens: what the gateway decides on
its own (authenticity, shape, size, deduplication, telling a sender to retry) needs
nothing behind it, and nothing of ours is imitated.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from videogen_common.testing.waits import free_port
from videogen_webhook_gateway.main import start
from videogen_webhook_gateway.settings import WebhookGatewaySettings

from .helpers import REPLICATE_SECRET, STRIPE_SECRET

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


@pytest.fixture
def gateway_db(fresh_database) -> str:
    return fresh_database(ALEMBIC_INI)


@pytest.fixture
async def gateway(gateway_db):
    nowhere = f"127.0.0.1:{free_port()}"
    app = await start(
        WebhookGatewaySettings(
            _env_file=None,
            database_url=gateway_db,
            webhook_gateway_port=0,
            replicate_webhook_secret=REPLICATE_SECRET,
            stripe_webhook_secret=STRIPE_SECRET,
            credits_address=nowhere,
            webhook_gateway_credits_token="service-test-payments-token",
            generation_address=nowhere,
            webhook_gateway_generation_token="service-test-webhooks-token",
            webhook_gateway_forward_timeout_s=0.5,
        )
    )
    async with aiohttp.ClientSession(base_url=app.base_url) as session:
        yield session
    await app.stop()
