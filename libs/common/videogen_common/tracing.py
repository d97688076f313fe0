"""OpenTelemetry traces across every hop: HTTP in at the gateways, gRPC between the
services, PostgreSQL, and the provider's HTTP calls, with the standard instrumentations.

Off unless configured, with the standard variables: OTEL_TRACES_EXPORTER (otlp or
console; none or unset: off), or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, which imply otlp). OTEL_EXPORTER_OTLP_PROTOCOL must
be http/protobuf (the exporter installed); OTEL_SERVICE_NAME names the service (default:
the service's own name). OTEL_SDK_DISABLED=true wins over everything.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

log = logging.getLogger(__name__)


def instrumentors() -> tuple:
    """The instrumentations, imported only when tracing is on: with the SDK they cost
    every process ~25 MB of memory, and most run with tracing off."""
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    return (
        GrpcAioInstrumentorServer,
        GrpcAioInstrumentorClient,
        AioHttpServerInstrumentor,
        AioHttpClientInstrumentor,
        PsycopgInstrumentor,
        HTTPXClientInstrumentor,
    )


def exporter_name(env: Mapping[str, str]) -> str | None:
    """Which exporter the environment asks for, or None: tracing stays off."""
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    chosen = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen in ("none",):
        return None
    if chosen:
        return chosen
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return "otlp" if any(env.get(name) for name in endpoints) else None


def instrument(processor: SpanProcessor, service: str) -> TracerProvider:
    """Trace through ``processor``; every instrumentation on. Call before servers and
    clients are made: the instrumentations wrap their constructors."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    for instrumentor in instrumentors():
        instrumentor().instrument(tracer_provider=provider)
    return provider


def uninstrument() -> None:
    for instrumentor in instrumentors():
        instrumentor().uninstrument()


def setup_tracing(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Turn tracing on when the environment asks for it; whether it did."""
    env = os.environ if env is None else env
    name = exporter_name(env)
    if name is None:
        return False
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    exporter: SpanExporter
    if name == "console":
        exporter = ConsoleSpanExporter()
    elif name == "otlp":
        protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        if protocol != "http/protobuf":
            raise SystemExit(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported: use http/protobuf"
            )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # reads its endpoint and headers from OTEL_*
    else:
        raise SystemExit(f"OTEL_TRACES_EXPORTER={name} is not supported: use otlp or console")
    instrument(BatchSpanProcessor(exporter), env.get("OTEL_SERVICE_NAME") or service)
    log.info("tracing on", extra={"exporter": name})
    return True


def current_trace_id() -> str | None:
    """The trace id of the span being served, as 32 hex digits, when tracing is on."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
