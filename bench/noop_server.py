"""A CreditsService whose Deduct does nothing: the cost of the RPC alone.

Built with the same bootstrap as the real service (videogen_common.grpc_server: same
server options, health and reflection), so the only difference the benchmark sees is
the handler. Usage: python bench/noop_server.py 127.0.0.1:PORT
"""
from __future__ import annotations

import asyncio
import sys

from videogen.credits.v1 import credits_pb2, credits_pb2_grpc
from videogen_common.grpc_server import (
    Registration,
    create_server,
    set_serving,
    wait_for_termination_signal,
)

SERVICE_NAME = credits_pb2.DESCRIPTOR.services_by_name["CreditsService"].full_name


class NoopCredits(credits_pb2_grpc.CreditsServiceServicer):
    async def Deduct(self, request, context):
        return credits_pb2.DeductResponse()


async def serve(address: str) -> None:
    registration = Registration(
        lambda server: credits_pb2_grpc.add_CreditsServiceServicer_to_server(
            NoopCredits(), server),
        SERVICE_NAME,
    )
    server, _port, health = create_server([registration], address)
    await server.start()
    await set_serving(health, [SERVICE_NAME], True)
    await wait_for_termination_signal()
    await server.stop(1.0)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: noop_server.py HOST:PORT")
    asyncio.run(serve(sys.argv[1]))
