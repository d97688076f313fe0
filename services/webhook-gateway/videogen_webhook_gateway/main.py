"""Wiring and process entry point: `python -m videogen_webhook_gateway.main`."""

from __future__ import annotations

import asyncio
import logging

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from videogen.credits.v1 import credits_pb2_grpc
from videogen.generation.v1 import generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.db import libpq_url, open_pool
from videogen_common.grpc_client import open_channel
from videogen_common.metrics import serve_metrics
from videogen_common.service_main import HttpApp, run_service, start_site

from .domain import parse_dodo, parse_stripe
from .repository import Deliveries
from .routes import Endpoint, Verify, build_app, readiness
from .service import PaymentAction, ReplicateAction
from .settings import WebhookGatewaySettings
from .verify import Verifier, stripe_verifier

log = logging.getLogger(__name__)
READINESS_TIMEOUT_S = 1.0


def _upstream_check(channels: dict[str, grpc.aio.Channel]):
    async def check() -> dict[str, bool]:
        async def serving(channel) -> bool:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=READINESS_TIMEOUT_S
                )
                return reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:
                return False

        results = await asyncio.gather(*(serving(c) for c in channels.values()))
        return dict(zip(channels, results, strict=False))

    return check


def _standard(secrets: list[str]) -> Verify | None:
    return Verifier(secrets).verify if secrets else None


async def start(settings: WebhookGatewaySettings) -> HttpApp:
    s = settings
    generation_channel = open_channel(s.generation_address, s.client_tls)
    credits_channel = open_channel(s.credits_address, s.client_tls)
    generation = AuthedStub(
        generation_pb2_grpc.GenerationServiceStub(generation_channel),
        s.webhook_gateway_generation_token,
    )
    credits = AuthedStub(
        credits_pb2_grpc.CreditsServiceStub(credits_channel), s.webhook_gateway_credits_token or "-"
    )
    pool = open_pool(libpq_url(s.database_url), size=4)
    await pool.open(wait=False)
    deliveries = Deliveries(pool)
    timeout_s = s.webhook_gateway_forward_timeout_s

    def payments(provider: str, parse) -> PaymentAction:
        return PaymentAction(provider, parse, credits, timeout_s)

    endpoints = {
        "/api/webhooks/replicate": Endpoint(
            "replicate",
            _standard(s.replicate_secrets),
            ReplicateAction(generation, timeout_s),
            deliveries,
        ),
        "/api/webhooks/stripe": Endpoint(
            "stripe",
            stripe_verifier(s.stripe_webhook_secret) if s.stripe_webhook_secret else None,
            payments("stripe", parse_stripe),
            deliveries,
        ),
        "/api/webhooks/dodo": Endpoint(
            "dodo",
            _standard(s.dodo_webhook_secret.split()),
            payments("dodo", parse_dodo),
            deliveries,
        ),
    }
    upstreams = {"generation": generation_channel}
    if s.stripe_webhook_secret or s.dodo_webhook_secret:
        upstreams["credits"] = credits_channel
    app = build_app(
        endpoints, readiness(_upstream_check(upstreams)), s.webhook_gateway_body_max_bytes
    )
    serve_metrics(s)
    if not s.replicate_secrets:
        log.warning("REPLICATE_WEBHOOK_SECRET is not set: Replicate webhooks are refused")
    runner, port = await start_site(
        app,
        s.webhook_gateway_host,
        s.webhook_gateway_port,
        s.workers > 1,
        access_log=None,
        shutdown_timeout=s.shutdown_grace_s,
    )
    return HttpApp(runner, port, [generation_channel, credits_channel], [deliveries])


def main() -> None:
    run_service("webhook-gateway", WebhookGatewaySettings, start)


if __name__ == "__main__":
    main()
