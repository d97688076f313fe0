"""gRPC over mutual TLS: generation and credits each require a client certificate of
the deployment's CA, generation presents its own to credits, and kubelet's plain-text
probes get health (and nothing else) on a port of their own."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.credits.v1 import credits_pb2_grpc
from videogen.generation.v1 import generation_pb2 as gpb
from videogen.generation.v1 import generation_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.testing.certs import make_loopback_certs
from videogen_common.testing.waits import eventually

from ..conftest import CREDITS_TOKENS, INIS, TOKENS, client_credentials, running_generation
from .test_servicer import funded_user, t2v


@pytest.fixture
def certs(tmp_path):
    (tmp_path / "certs").mkdir()
    return make_loopback_certs(tmp_path / "certs")


@pytest.fixture
async def on_tls(fresh_database, tmp_path, certs):
    async with running_generation(fresh_database(*INIS), tmp_path / "media", certs) as running:
        yield running


async def test_a_job_is_paid_and_finished_with_every_hop_on_mutual_tls(on_tls):
    user = await funded_user(on_tls)  # the test's own client certificate, to credits
    created = (await on_tls.api.CreateGeneration(t2v(user, "tls"))).generation

    async def finished():
        reply = await on_tls.api.GetGeneration(
            gpb.GetGenerationRequest(user_id=user, generation_id=created.id)
        )
        return reply.generation if reply.generation.status == gpb.STATUS_SUCCEEDED else None

    assert (await eventually(finished, timeout_s=30)).credits_used == 10

    async def captured():  # generation reserved and captures over its own mTLS channel
        reply = await on_tls.credits.GetBalance(cpb.GetBalanceRequest(user_id=user))
        return (reply.account.available, reply.account.reserved) == (90, 0)

    assert await eventually(captured)


async def _refused(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as refused:
        await call
    return refused.value.code()


@pytest.mark.parametrize("server", ["generation", "credits"])
async def test_without_a_client_certificate_or_in_plain_text_nothing_is_answered(
    on_tls, certs, server
):
    port = on_tls.port if server == "generation" else on_tls.credits_port

    def call(channel):
        if server == "generation":
            stub = generation_pb2_grpc.GenerationServiceStub(channel)
            return AuthedStub(stub, TOKENS["api"]).GetCatalog(gpb.GetCatalogRequest(), timeout=3)
        stub = credits_pb2_grpc.CreditsServiceStub(channel)
        return AuthedStub(stub, CREDITS_TOKENS["api"]).ListPackages(
            cpb.ListPackagesRequest(), timeout=3
        )

    anonymous = client_credentials(certs, with_cert=False)
    async with grpc.aio.secure_channel(f"localhost:{port}", anonymous) as channel:
        assert await _refused(call(channel)) == grpc.StatusCode.UNAVAILABLE
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as plain:
        assert await _refused(call(plain)) == grpc.StatusCode.UNAVAILABLE
    async with grpc.aio.secure_channel(f"localhost:{port}", client_credentials(certs)) as ok:
        await call(ok)  # the control: the same call, with a certificate


async def test_the_health_port_answers_health_in_plain_text_and_nothing_else(on_tls):
    port = on_tls.settings.generation_health_port
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as plain:
        health = health_pb2_grpc.HealthStub(plain)

        async def serving():
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
            return reply.status == health_pb2.HealthCheckResponse.SERVING

        assert await eventually(serving)
        stub = AuthedStub(generation_pb2_grpc.GenerationServiceStub(plain), TOKENS["api"])
        code = await _refused(stub.GetCatalog(gpb.GetCatalogRequest(), timeout=2))
        assert code == grpc.StatusCode.UNIMPLEMENTED
