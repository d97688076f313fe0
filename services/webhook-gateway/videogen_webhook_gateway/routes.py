"""HTTP edge: read the raw bytes, verify, then parse; deduplicate; act with a deadline.

Every source (Replicate, Stripe, Dodo Payments) goes through one pipeline; a source
brings its verifier and its action. Answers: 2xx once the effect is durable downstream
(or the event is knowingly ignored), 400 malformed, 401 not authentic, 413 too large,
415 not JSON, 503 when a downstream service is unavailable, so the sender retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import grpc
from aiohttp import web
from prometheus_client import Counter, Histogram

from videogen_common import request_id
from videogen_common.db import is_database_outage
from videogen_common.grpc_status import parse_rpc_error
from videogen_common.status_table import http_status_for_grpc
from videogen_common.tracing import current_trace_id

from .domain import Ignored, Malformed, NotAuthentic
from .repository import Deliveries

log = logging.getLogger(__name__)

RECEIVED = Counter("webhooks_received_total", "Webhooks received", ["source"])
VERIFIED = Counter("webhooks_verified_total", "Webhooks that passed verification", ["source"])
REJECTED = Counter("webhooks_rejected_total", "Webhooks refused", ["source", "reason"])
OUTCOMES = Counter("webhooks_outcomes_total", "Verified webhooks by outcome", ["source", "outcome"])
FORWARD_SECONDS = Histogram("webhooks_forward_seconds", "Downstream call latency", ["source"])


# Downstream failures the sender should retry (never lose a verified webhook), read from
# the one status table: whatever is not the event's own fault (a service down or
# overloaded, a deadline, our own identity refused: 5xx and 429) and an aborted call. A
# definite refusal of the event itself (another 4xx) is answered 400.
def sender_should_retry(code: grpc.StatusCode, reason: str) -> bool:
    status = http_status_for_grpc(code, reason)
    return status >= 500 or status == 429 or code == grpc.StatusCode.ABORTED


Verify = Callable[[bytes, Mapping[str, str]], tuple[str, dict]]
Act = Callable[[dict, web.Request, bytes], Awaitable[str]]


@dataclass
class Endpoint:
    source: str
    verify: Verify | None  # None: no secret configured, the endpoint is closed
    act: Act
    deliveries: Deliveries

    def refuse(self, status: int, reason: str, detail: str) -> web.Response:
        REJECTED.labels(self.source, reason).inc()
        return web.json_response({"detail": detail}, status=status)

    async def handle(self, request: web.Request) -> web.Response:
        RECEIVED.labels(self.source).inc()
        if self.verify is None:
            return self.refuse(503, "disabled", f"{self.source} webhooks are not configured")
        if request.content_type != "application/json":
            return self.refuse(415, "media_type", "expected application/json")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self.refuse(413, "too_large", "body too large")
        try:
            event_id, data = self.verify(body, request.headers)
        except Malformed as error:
            return self.refuse(400, "malformed", str(error))
        except NotAuthentic as error:
            return self.refuse(401, "signature", str(error))
        VERIFIED.labels(self.source).inc()
        try:
            return await self._process(request, body, event_id, data)
        except Exception as error:
            if not is_database_outage(error):
                raise
            # Nothing is lost: the sender retries, and every effect downstream is keyed.
            log.warning("deliveries store unavailable", extra={"source": self.source})
            return self.refuse(503, "database", "try again later")

    async def _process(
        self, request: web.Request, body: bytes, event_id: str, data: dict
    ) -> web.Response:
        if await self.deliveries.seen(self.source, event_id):
            OUTCOMES.labels(self.source, "duplicate").inc()
            return web.json_response({"status": "ok", "duplicate": True})
        started = time.perf_counter()
        try:
            outcome = await self.act(data, request, body)
        except Ignored as why:
            outcome = f"ignored: {why}"
        except Malformed as error:
            return self.refuse(400, "invalid", str(error))
        except grpc.RpcError as error:
            remote = parse_rpc_error(error)
            if sender_should_retry(remote.code, remote.reason):
                log.warning(
                    "downstream failed", extra={"source": self.source, "code": remote.code.name}
                )
                return self.refuse(503, "upstream", "try again later")
            return self.refuse(400, "invalid", remote.message)
        finally:
            FORWARD_SECONDS.labels(self.source).observe(time.perf_counter() - started)
        await self.deliveries.record(self.source, event_id)
        OUTCOMES.labels(self.source, outcome.split(":")[0]).inc()
        log.info(
            "webhook handled",
            extra={"source": self.source, "webhook_id": event_id[:64], "outcome": outcome},
        )
        return web.json_response({"status": "ok", "outcome": outcome, "duplicate": False})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy"})


def readiness(check: Callable[[], Awaitable[dict[str, bool]]]):
    async def ready(request: web.Request) -> web.Response:
        upstreams = await check()
        status = 200 if all(upstreams.values()) else 503
        return web.json_response(
            {"status": "ready" if status == 200 else "degraded", "upstreams": upstreams},
            status=status,
        )

    return ready


@web.middleware
async def request_id_middleware(request: web.Request, handler):
    """Each delivery's id (X-Request-Id, or a new one) in its logs and in the metadata
    of the calls it makes, so one webhook can be followed into generation and credits."""
    # With tracing on, the id is the trace id (the server span is already open).
    rid = request_id.adopt(current_trace_id() or request.headers.get(request_id.HEADER))
    response = await handler(request)
    response.headers[request_id.HEADER] = rid
    return response


def build_app(endpoints: dict[str, Endpoint], ready, body_max_bytes: int) -> web.Application:
    app = web.Application(client_max_size=body_max_bytes, middlewares=[request_id_middleware])
    for path, endpoint in endpoints.items():
        app.router.add_post(path, endpoint.handle)
    app.router.add_get("/health", health)
    app.router.add_get("/api/webhooks/health", ready)
    return app
