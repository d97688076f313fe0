"""Generation fixtures: the real generation server on port 0, on a fresh database, with
the real credits server it pays through and the Replicate emulator it submits to. No
webhook gateway: webhooks the emulator sends find nobody, so what completes a job here
is the service's own polling of the provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from replicate_emulator import EmulatorConfig, start_emulator
from videogen.credits.v1 import credits_pb2_grpc
from videogen.generation.v1 import generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.grpc_client import ClientTls
from videogen_common.testing.certs import CertFiles
from videogen_common.testing.waits import free_port
from videogen_credits.main import start as start_credits
from videogen_credits.settings import CreditsSettings
from videogen_generation.main import start
from videogen_generation.settings import GenerationSettings

ROOT = Path(__file__).resolve().parents[2]
INIS = (ROOT / "credits" / "alembic.ini", ROOT / "generation" / "alembic.ini")
CREDITS_TOKENS = {"api": "service-test-api-credits", "generation": "service-test-gen-credits"}
TOKENS = {"api": "service-test-api-generation", "webhooks": "service-test-webhooks-gen"}
REPLICATE_TOKEN = "r8_service_test_token"


@dataclass
class Generation:
    api: AuthedStub  # as the API gateway calls it
    webhooks: AuthedStub  # as the webhook gateway calls it
    anonymous: generation_pb2_grpc.GenerationServiceStub
    credits: AuthedStub  # the ledger, read as the API gateway reads it
    channel: grpc.aio.Channel
    emulator: object
    port: int
    credits_port: int
    settings: GenerationSettings


def _tls_settings(certs: CertFiles | None, service: str) -> dict:
    """A service's server TLS (mutual: the client CA too) and its health port."""
    if certs is None:
        return {}
    return {
        f"{service}_tls_cert_path": certs.cert_path,
        f"{service}_tls_key_path": certs.key_path,
        f"{service}_tls_client_ca_path": certs.ca_path,
        f"{service}_health_port": free_port(),
    }


def client_credentials(certs: CertFiles, with_cert: bool = True) -> grpc.ChannelCredentials:
    return ClientTls(
        certs.ca_path,
        certs.client_cert_path if with_cert else None,
        certs.client_key_path if with_cert else None,
    ).credentials()


@asynccontextmanager
async def running_generation(
    database_url: str, media_dir: Path, certs: CertFiles | None = None
) -> AsyncIterator[Generation]:
    """Credits, generation and the emulator; with ``certs``, both gRPC services on
    mutual TLS and generation calling credits with its client certificate."""
    emulator = await start_emulator(
        EmulatorConfig(api_token=REPLICATE_TOKEN, step_delay_s=0.05, progress_steps=3)
    )
    credits_app = await start_credits(
        CreditsSettings(
            _env_file=None,
            database_url=database_url,
            credits_caller_tokens=CREDITS_TOKENS,
            credits_grpc_address="127.0.0.1:0",
            **_tls_settings(certs, "credits"),
        )
    )
    client_tls = {}
    if certs is not None:
        client_tls = dict(
            grpc_tls_ca_path=certs.ca_path,
            grpc_tls_client_cert_path=certs.client_cert_path,
            grpc_tls_client_key_path=certs.client_key_path,
        )
    settings = GenerationSettings(
        _env_file=None,
        database_url=database_url,
        generation_caller_tokens=TOKENS,
        generation_grpc_address="127.0.0.1:0",
        generation_credits_token=CREDITS_TOKENS["generation"],
        credits_address=f"127.0.0.1:{credits_app.port}",
        replicate_api_token=REPLICATE_TOKEN,
        replicate_base_url=emulator.base_url,
        webhook_public_url=f"http://127.0.0.1:{free_port()}",
        generation_media_dir=media_dir,
        generation_media_base_url="http://127.0.0.1:8000/media",
        media_url_secret="service-test-media-url-secret-32-chars",
        generation_poll_after_s=0.3,
        generation_recovery_interval_s=0.1,
        generation_replicate_timeout_s=2.0,
        **_tls_settings(certs, "generation"),
        **client_tls,
    )
    app = await start(settings)
    if certs is None:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
        credits_channel = grpc.aio.insecure_channel(f"127.0.0.1:{credits_app.port}")
    else:
        creds = client_credentials(certs)
        channel = grpc.aio.secure_channel(f"localhost:{app.port}", creds)
        credits_channel = grpc.aio.secure_channel(f"localhost:{credits_app.port}", creds)
    stub = generation_pb2_grpc.GenerationServiceStub(channel)
    try:
        yield Generation(
            AuthedStub(stub, TOKENS["api"]),
            AuthedStub(stub, TOKENS["webhooks"]),
            stub,
            AuthedStub(credits_pb2_grpc.CreditsServiceStub(credits_channel), CREDITS_TOKENS["api"]),
            channel,
            emulator,
            app.port,
            credits_app.port,
            settings,
        )
    finally:
        await channel.close()
        await credits_channel.close()
        await app.stop(0)
        await credits_app.stop(0)
        await emulator.stop()


@pytest.fixture
async def generation(fresh_database, tmp_path):
    async with running_generation(fresh_database(*INIS), tmp_path / "media") as running:
        yield running
