"""Wiring and process entry point: `python -m webhook_gateway.main`."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import grpc
from aiohttp import web

from videogen.generation.v1 import generation_pb2, generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.db import create_engine
from videogen_common.grpc_client import open_channel
from videogen_common.grpc_server import wait_for_termination_signal
from videogen_common.logs import configure_logging
from videogen_common.settings import load_settings

from .app import ReplicateWebhooks, build_app
from .deliveries import Deliveries
from .settings import WebhookGatewaySettings
from .verify import Verifier

log = logging.getLogger(__name__)
GENERATION_SERVICE = generation_pb2.DESCRIPTOR.services_by_name["GenerationService"].full_name


@dataclass
class GatewayApp:
    runner: web.AppRunner
    port: int
    channel: grpc.aio.Channel
    deliveries: Deliveries

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.channel.close()
        await self.deliveries.engine.dispose()


async def start(settings: WebhookGatewaySettings) -> GatewayApp:
    channel = open_channel(settings.generation_address, [GENERATION_SERVICE])
    stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(channel),
                      settings.webhook_gateway_generation_token)
    deliveries = Deliveries(create_engine(settings.database_url, pool_size=4))
    replicate = ReplicateWebhooks(Verifier(settings.replicate_secrets), deliveries, stub,
                                  settings.webhook_gateway_forward_timeout_s)
    runner = web.AppRunner(build_app(replicate, settings.webhook_gateway_body_max_bytes),
                           access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_gateway_host, settings.webhook_gateway_port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the bound port when 0 was asked
    return GatewayApp(runner, port, channel, deliveries)


async def serve(settings: WebhookGatewaySettings) -> None:
    app = await start(settings)
    if not settings.replicate_secrets:
        log.warning("REPLICATE_WEBHOOK_SECRET is not set: Replicate webhooks are refused")
    log.info("webhook gateway listening", extra={"port": app.port})
    await wait_for_termination_signal()
    await app.stop()
    log.info("webhook gateway stopped")


def main() -> None:
    settings = load_settings(WebhookGatewaySettings)
    configure_logging("webhook-gateway", settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
