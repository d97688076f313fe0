"""gRPC servers whose handlers do nothing, built with the real services' bootstrap
(videogen_common.grpc_server: same options, health and reflection):

- `credits`: CreditsService.Deduct answers an empty response at once: the RPC's own
  cost, the baseline beside the real Deduct;
- `generation`: GenerationService.ApplyProviderUpdate acknowledges at once: the
  webhook gateway's own cost, with nothing behind it.

Callers' tokens are not checked. Usage: python bench/stub_servers.py KIND 127.0.0.1:PORT
"""

from __future__ import annotations

import asyncio
import sys

from videogen.credits.v1 import credits_pb2, credits_pb2_grpc
from videogen.generation.v1 import generation_pb2, generation_pb2_grpc
from videogen_common.grpc_server import (
    Registration,
    create_server,
    set_serving,
    wait_for_termination_signal,
)

APPLIED = generation_pb2.ApplyProviderUpdateResponse(
    applied=True, status=generation_pb2.STATUS_PROCESSING
)


class NoopCredits(credits_pb2_grpc.CreditsServiceServicer):
    async def Deduct(self, request, context):
        return credits_pb2.DeductResponse()


class AckGeneration(generation_pb2_grpc.GenerationServiceServicer):
    async def ApplyProviderUpdate(self, request, context):
        return APPLIED


KINDS = {
    "credits": (
        credits_pb2,
        "CreditsService",
        NoopCredits,
        credits_pb2_grpc.add_CreditsServiceServicer_to_server,
    ),
    "generation": (
        generation_pb2,
        "GenerationService",
        AckGeneration,
        generation_pb2_grpc.add_GenerationServiceServicer_to_server,
    ),
}


async def serve(kind: str, address: str) -> None:
    module, service, servicer, add = KINDS[kind]
    name = module.DESCRIPTOR.services_by_name[service].full_name
    registration = Registration(lambda server: add(servicer(), server), name)
    server, _port, health = create_server([registration], address)
    await server.start()
    await set_serving(health, [name], True)
    await wait_for_termination_signal()
    await server.stop(1.0)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        raise SystemExit(f"usage: stub_servers.py {{{','.join(KINDS)}}} HOST:PORT")
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
