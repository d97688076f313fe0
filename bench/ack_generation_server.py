"""A GenerationService whose ApplyProviderUpdate acknowledges at once: the webhook
gateway's own cost, with nothing behind it.

Built with the same bootstrap as the real service (videogen_common.grpc_server: same
server options, health and reflection), so the gateway's channel, retries and health
checks see what they would see in production. The caller's token is not checked (the
gateway sends its "webhooks" token in the authorization metadata; it is ignored).
Usage: python bench/ack_generation_server.py 127.0.0.1:PORT
"""
from __future__ import annotations

import asyncio
import sys

from videogen.generation.v1 import generation_pb2, generation_pb2_grpc
from videogen_common.grpc_server import (
    Registration,
    create_server,
    set_serving,
    wait_for_termination_signal,
)

SERVICE_NAME = generation_pb2.DESCRIPTOR.services_by_name["GenerationService"].full_name
APPLIED = generation_pb2.ApplyProviderUpdateResponse(
    applied=True, status=generation_pb2.STATUS_PROCESSING)


class AckGeneration(generation_pb2_grpc.GenerationServiceServicer):
    async def ApplyProviderUpdate(self, request, context):
        return APPLIED


async def serve(address: str) -> None:
    registration = Registration(
        lambda server: generation_pb2_grpc.add_GenerationServiceServicer_to_server(
            AckGeneration(), server),
        SERVICE_NAME,
    )
    server, _port, health = create_server([registration], address)
    await server.start()
    await set_serving(health, [SERVICE_NAME], True)
    await wait_for_termination_signal()
    await server.stop(1.0)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: ack_generation_server.py HOST:PORT")
    asyncio.run(serve(sys.argv[1]))
