"""One text-to-video request, traced: the API gateway's HTTP span, generation's and
credits' gRPC spans, their PostgreSQL statements and the call to the provider, all
under one trace id; and the request id is that trace id."""

import uuid

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from videogen_common import tracing

from .conftest import build_stack


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.instrument(SimpleSpanProcessor(exporter), "videogen-e2e")
    yield exporter
    tracing.uninstrument()


@pytest.fixture
async def stack(spans, stack_db, service_urls, tmp_path, emulator_config):
    """The usual stack, made after the instrumentations are on (they wrap constructors)."""
    built = await build_stack(stack_db, service_urls, tmp_path / "media", emulator_config)
    yield built
    await built.stop()


async def test_one_request_is_one_trace_across_the_services(api, spans):
    user = str(uuid.uuid4())
    status, created, headers = await api.call(
        "POST",
        "/api/generation/text-to-video",
        user,
        json={"prompt": "a red fox running through fresh snow", "resolution": "480p"},
    )
    assert status == 200
    finished = spans.get_finished_spans()
    [edge] = [s for s in finished if s.kind.name == "SERVER" and "text-to-video" in s.name]
    trace_id = edge.context.trace_id
    ours = [s for s in finished if s.context.trace_id == trace_id]
    names = {s.name for s in ours}
    assert "/videogen.generation.v1.GenerationService/CreateGeneration" in names
    assert "/videogen.credits.v1.CreditsService/Reserve" in names
    servers = {s.name for s in ours if s.kind.name == "SERVER"}
    assert {n.rsplit("/", 1)[-1] for n in servers} >= {"CreateGeneration", "Reserve"}
    assert any(s.attributes.get("db.system") == "postgresql" for s in ours)
    # The submit to the provider (the official client, over httpx).
    provider_calls = [
        s
        for s in ours
        if s.kind.name == "CLIENT"
        and "predictions" in str(s.attributes.get("url.full") or s.attributes.get("http.url"))
    ]
    assert provider_calls
    # With tracing on, the request id the client sees is the trace id.
    assert headers["X-Request-Id"] == format(trace_id, "032x")
