"""The whole backend in one test process: credits, generation and the webhook gateway as
real gRPC and HTTP servers on loopback, one fresh PostgreSQL database, and the Replicate
emulator, which the official client and our real webhook verifier talk to.

Helpers are fixtures: with --import-mode=importlib, test modules cannot import this file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import grpc
import pytest

from replicate_emulator import EmulatorConfig, start_emulator
from videogen.credits.v1 import credits_pb2 as cpb
from videogen.credits.v1 import credits_pb2_grpc
from videogen.generation.v1 import generation_pb2 as gpb
from videogen.generation.v1 import generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.testing.http import ApiClient
from videogen_common.testing.waits import eventually, free_port
from videogen_credits.main import start as start_credits
from videogen_credits.settings import CreditsSettings
from videogen_generation.main import start as start_generation
from videogen_generation.settings import GenerationSettings
from videogen_webhook_gateway.main import start as start_gateway
from videogen_webhook_gateway.settings import WebhookGatewaySettings

ROOT = Path(__file__).resolve().parents[2]
INIS = tuple(
    ROOT / "services" / s / "alembic.ini" for s in ("credits", "generation", "webhook-gateway")
)
TOKENS = {
    "credits": {
        "api": "e2e-api-credits-token-000",
        "generation": "e2e-generation-token-000",
        "payments": "e2e-payments-token-00000",
        "admin": "e2e-admin-token-000000",
    },
    "generation": {"api": "e2e-api-generation-token", "webhooks": "e2e-webhooks-token-0000"},
}
REPLICATE_TOKEN = "r8_e2e_token"
MEDIA_URL_SECRET = "e2e-media-url-secret-of-32-characters"
STRIPE_SECRET = "whsec_e2e_stripe_endpoint_secret"
DODO_SECRET = "whsec_" + "ZTJlLWRvZG8tc2lnbmluZy1zZWNyZXQtMzItYnl0ZXM="


@dataclass
class Stack:
    # The owner's URL (migrations, inspection); each service connects as its own role.
    database_url: str
    emulator: object
    credits_app: object
    generation_app: object
    gateway_app: object
    credits_api: AuthedStub
    credits_admin: AuthedStub
    generation_api: AuthedStub
    channels: list
    service_urls: dict[str, str]

    def generation_settings(self, **overrides) -> GenerationSettings:
        return generation_settings(
            self.service_urls["generation"],
            self.credits_app.port,
            self.emulator,
            self.gateway_app.base_url,
            **overrides,
        )

    async def stop(self) -> None:
        for channel in self.channels:
            await channel.close()
        for app in (self.gateway_app, self.generation_app):
            await app.stop() if app is self.gateway_app else await app.stop(0)
        await self.credits_app.stop(0)
        await self.emulator.stop()


def generation_settings(
    database_url, credits_port, emulator, webhook_base, **overrides
) -> GenerationSettings:
    values = dict(
        database_url=database_url,
        generation_caller_tokens=TOKENS["generation"],
        generation_grpc_address="127.0.0.1:0",
        generation_credits_token=TOKENS["credits"]["generation"],
        credits_address=f"127.0.0.1:{credits_port}",
        replicate_api_token=REPLICATE_TOKEN,
        replicate_base_url=emulator.base_url,
        webhook_public_url=webhook_base,
        generation_media_dir=overrides.pop("media_dir"),
        generation_media_base_url="http://127.0.0.1:8000/media",
        media_url_secret=MEDIA_URL_SECRET,
        generation_poll_after_s=2.0,
        generation_recovery_interval_s=0.2,
        generation_lease_s=2.5,
        generation_replicate_timeout_s=1.0,
        generation_create_settle_s=1.5,
    )
    values.update(overrides)
    return GenerationSettings(_env_file=None, **values)


async def build_stack(
    database_url: str,
    service_urls: dict[str, str],
    media_dir: Path,
    emulator_config: EmulatorConfig,
    **generation_overrides,
) -> Stack:
    """``service_urls``: each service's own database URL, by service name."""
    emulator = await start_emulator(emulator_config)
    credits_app = await start_credits(
        CreditsSettings(
            _env_file=None,
            database_url=service_urls["credits"],
            credits_caller_tokens=TOKENS["credits"],
            credits_grpc_address="127.0.0.1:0",
            credits_subscription_grace_s=0,
        )
    )
    gateway_port = free_port()
    gateway_base = f"http://127.0.0.1:{gateway_port}"
    generation_app = await start_generation(
        generation_settings(
            service_urls["generation"],
            credits_app.port,
            emulator,
            gateway_base,
            media_dir=media_dir,
            **generation_overrides,
        )
    )
    gateway_app = await start_gateway(
        WebhookGatewaySettings(
            _env_file=None,
            database_url=service_urls["webhook-gateway"],
            webhook_gateway_port=gateway_port,
            replicate_webhook_secret=emulator.webhook_secret,
            stripe_webhook_secret=STRIPE_SECRET,
            dodo_webhook_secret=DODO_SECRET,
            credits_address=f"127.0.0.1:{credits_app.port}",
            webhook_gateway_credits_token=TOKENS["credits"]["payments"],
            generation_address=f"127.0.0.1:{generation_app.port}",
            webhook_gateway_generation_token=TOKENS["generation"]["webhooks"],
        )
    )
    credits_channel = grpc.aio.insecure_channel(f"127.0.0.1:{credits_app.port}")
    generation_channel = grpc.aio.insecure_channel(f"127.0.0.1:{generation_app.port}")
    credits_stub = credits_pb2_grpc.CreditsServiceStub(credits_channel)
    return Stack(
        database_url,
        emulator,
        credits_app,
        generation_app,
        gateway_app,
        AuthedStub(credits_stub, TOKENS["credits"]["api"]),
        AuthedStub(credits_stub, TOKENS["credits"]["admin"]),
        AuthedStub(
            generation_pb2_grpc.GenerationServiceStub(generation_channel),
            TOKENS["generation"]["api"],
        ),
        [credits_channel, generation_channel],
        service_urls,
    )


@pytest.fixture
def stack_db(fresh_database) -> str:
    return fresh_database(*INIS)


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(
        api_token=REPLICATE_TOKEN, step_delay_s=0.05, progress_steps=3, webhook_backoff_base_s=0.05
    )


@pytest.fixture
def service_urls(stack_db, login_role) -> dict[str, str]:
    """Every service as a login user of its own role, as deployed: whatever the e2e
    suite does, each one does with no more privileges than its migrations grant."""
    return {
        "credits": login_role(stack_db, "videogen_credits"),
        "generation": login_role(stack_db, "videogen_generation"),
        "webhook-gateway": login_role(stack_db, "videogen_webhook_gateway"),
    }


@pytest.fixture
async def stack(stack_db, service_urls, tmp_path, emulator_config):
    built = await build_stack(stack_db, service_urls, tmp_path / "media", emulator_config)
    yield built
    await built.stop()


@pytest.fixture
def wait_for():
    return eventually


@pytest.fixture
def funded_user(stack):
    async def make(balance: int = 100) -> str:
        import uuid

        user = str(uuid.uuid4())
        await stack.credits_api.EnsureAccount(cpb.EnsureAccountRequest(user_id=user))
        if balance != 100:
            await stack.credits_admin.Add(
                cpb.AddRequest(
                    user_id=user,
                    amount=balance - 100,
                    kind=cpb.ENTRY_KIND_ADMIN_ADJUSTMENT,
                    idempotency_key=f"setup-{user}",
                    actor="tests",
                    description="setup",
                )
            )
        return user

    return make


@pytest.fixture
def ledger(stack):
    async def read(user: str) -> tuple[int, list]:
        """(available balance, entries) of a user, after checking Σ entries = available +
        reserved (what running generations hold) and that Reconcile finds nothing."""
        for _ in range(50):  # two reads: retry while a capture lands between them
            account = (
                await stack.credits_api.GetBalance(cpb.GetBalanceRequest(user_id=user))
            ).account
            entries = (
                await stack.credits_api.ListTransactions(
                    cpb.ListTransactionsRequest(user_id=user, page_size=200)
                )
            ).entries
            again = (
                await stack.credits_api.GetBalance(cpb.GetBalanceRequest(user_id=user))
            ).account
            if again == account:
                break
            await asyncio.sleep(0.05)
        assert (
            sum(e.amount for e in entries) == account.total == account.available + account.reserved
        )
        report = await stack.credits_admin.Reconcile(cpb.ReconcileRequest(user_id=user))
        assert list(report.drifts) == [], report.drifts
        return account.available, list(entries)

    return read


def t2v(
    user: str, key: str, prompt: str = "a red fox running through fresh snow", **extra
) -> gpb.CreateGenerationRequest:
    return gpb.CreateGenerationRequest(
        user_id=user,
        idempotency_key=key,
        model="t2v-14B",
        resolution="480p",
        prompt=prompt,
        duration_s=5,
        **extra,
    )


@pytest.fixture
def t2v_request():
    return t2v


@pytest.fixture
def payment_secrets() -> dict[str, str]:
    return {"stripe": STRIPE_SECRET, "dodo": DODO_SECRET}


JWT_SECRET = "e2e-supabase-jwt-secret-with-32-chars!!"
ORIGIN = "http://app.example.test"


@pytest.fixture
def api_settings_overrides() -> dict:
    return {}


@pytest.fixture
async def api(stack, tmp_path, api_settings_overrides):
    """The API gateway on the stack, with an HTTP session and a JWT maker."""
    import aiohttp

    from videogen_api_gateway.main import start as start_api
    from videogen_api_gateway.settings import ApiGatewaySettings

    values = dict(
        api_gateway_port=0,
        auth_jwt_secret=JWT_SECRET,
        api_gateway_events_secret="e2e-events-secret-of-at-least-32-chars",
        allowed_origins=ORIGIN,
        credits_address=f"127.0.0.1:{stack.credits_app.port}",
        api_gateway_credits_token=TOKENS["credits"]["api"],
        api_gateway_credits_admin_token=TOKENS["credits"]["admin"],
        generation_address=f"127.0.0.1:{stack.generation_app.port}",
        api_gateway_generation_token=TOKENS["generation"]["api"],
        api_gateway_media_dir=stack.generation_app.flow.storage.directory,
        api_gateway_sse_ping_s=1.0,
        media_url_secret=MEDIA_URL_SECRET,
    )
    values.update(api_settings_overrides)
    app = await start_api(ApiGatewaySettings(_env_file=None, **values))
    session = aiohttp.ClientSession(base_url=app.base_url)
    yield ApiClient(app, session, values, JWT_SECRET)
    await session.close()
    await app.stop()


@pytest.fixture
async def paused_generation(stack, funded_user, t2v_request):
    """A submitted generation whose prediction sends nothing by itself."""
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    user = await funded_user(100)
    gen = (await stack.generation_api.CreateGeneration(t2v_request(user, "k"))).generation
    prediction = stack.emulator.store.all()[0]
    return user, gen, prediction.id


@pytest.fixture
def send_webhook(stack):
    """Sign a prediction as the emulator would and post it to the stack's gateway."""
    import json
    import secrets
    from datetime import datetime

    import aiohttp
    from standardwebhooks import Webhook

    async def send(generation_id: str, prediction: dict) -> tuple[int, dict]:
        body = json.dumps(prediction)
        webhook_id = f"msg_{secrets.token_hex(8)}"
        at = datetime.now(UTC)
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(stack.emulator.webhook_secret).sign(webhook_id, at, body),
            "content-type": "application/json",
        }
        url = f"{stack.gateway_app.base_url}/api/webhooks/replicate?generation_id={generation_id}"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body.encode(), headers=headers) as response:
                return response.status, await response.json(content_type=None)

    return send


@pytest.fixture
def jobs_of(stack):
    """Every job the emulator was ever asked for on behalf of a generation."""

    def jobs(generation_id: str) -> list:
        return [
            p
            for p in stack.emulator.store.history.values()
            if p.webhook and p.webhook.endswith(f"generation_id={generation_id}")
        ]

    return jobs
