"""HTTP edge: read the raw bytes, verify, then parse; deduplicate; forward with a deadline."""
from __future__ import annotations

import logging
import time

import grpc
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from videogen.generation.v1 import generation_pb2 as gen_pb
from videogen_common.grpc_status import parse_rpc_error

from .deliveries import Deliveries
from .verify import Malformed, NotAuthentic, Verifier

log = logging.getLogger(__name__)

RECEIVED = Counter("webhooks_received_total", "Webhooks received", ["source"])
REJECTED = Counter("webhooks_rejected_total", "Webhooks refused", ["source", "reason"])
APPLIED = Counter("webhooks_forwarded_total", "Webhooks forwarded", ["source", "outcome"])
FORWARD_SECONDS = Histogram("webhooks_forward_seconds", "Forwarding latency", ["source"])

UNAVAILABLE_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                     grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL,
                     grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAUTHENTICATED,
                     grpc.StatusCode.PERMISSION_DENIED}


def refuse(source: str, status: int, reason: str, detail: str) -> web.Response:
    REJECTED.labels(source, reason).inc()
    return web.json_response({"detail": detail}, status=status)


class ReplicateWebhooks:
    SOURCE = "replicate"

    def __init__(self, verifier: Verifier, deliveries: Deliveries, generation_stub,
                 timeout_s: float) -> None:
        self.verifier, self.deliveries = verifier, deliveries
        self.generation, self.timeout_s = generation_stub, timeout_s

    async def handle(self, request: web.Request) -> web.Response:
        source = self.SOURCE
        RECEIVED.labels(source).inc()
        if not self.verifier.enabled:
            return refuse(source, 503, "disabled", "webhook secret not configured")
        if request.content_type != "application/json":
            return refuse(source, 415, "media_type", "expected application/json")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return refuse(source, 413, "too_large", "body too large")
        try:
            webhook_id, _ = self.verifier.verify(body, request.headers)
        except Malformed as error:
            return refuse(source, 400, "malformed", str(error))
        except NotAuthentic as error:
            return refuse(source, 401, "signature", str(error))
        if await self.deliveries.seen(source, webhook_id):
            APPLIED.labels(source, "duplicate").inc()
            return web.json_response({"status": "ok", "duplicate": True})
        started = time.perf_counter()
        try:
            reply = await self.generation.ApplyProviderUpdate(
                gen_pb.ApplyProviderUpdateRequest(
                    generation_id=request.query.get("generation_id", "")[:64],
                    prediction_json=body),
                timeout=self.timeout_s)
        except grpc.RpcError as error:
            remote = parse_rpc_error(error)
            if remote.code in UNAVAILABLE_CODES:
                log.warning("forward failed", extra={"code": remote.code.name})
                return refuse(source, 503, "upstream", "try again later")
            return refuse(source, 400, "invalid", remote.message)
        finally:
            FORWARD_SECONDS.labels(source).observe(time.perf_counter() - started)
        await self.deliveries.record(source, webhook_id)
        APPLIED.labels(source, "applied" if reply.applied else "ignored").inc()
        return web.json_response({"status": "ok", "applied": reply.applied})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy"})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def build_app(replicate: ReplicateWebhooks, body_max_bytes: int) -> web.Application:
    app = web.Application(client_max_size=body_max_bytes)
    app.router.add_post("/api/webhooks/replicate", replicate.handle)
    app.router.add_get("/health", health)
    app.router.add_get("/api/webhooks/health", health)
    app.router.add_get("/metrics", metrics)
    return app
