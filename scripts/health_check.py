"""Ask a gRPC server how it is: `python scripts/health_check.py 127.0.0.1:50051 [SERVICE]`.

Calls grpc.health.v1.Health/Check (SERVICE "" means the whole server) and prints the
status. Exit code: 0 SERVING, 1 any other status, 2 unreachable or no answer.

(Not named grpc_health.py: run as a script, that name would shadow the grpc_health
package this file imports.)
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = "SERVING"


def check(address: str, service: str = "", timeout_s: float = 2.0) -> str:
    """The server's status name for ``service``, e.g. "SERVING"; raises grpc.RpcError."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=service)
        reply = stub.Check(request, timeout=timeout_s)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", help="host:port of a plaintext gRPC server")
    parser.add_argument(
        "service",
        nargs="?",
        default="",
        help="full service name, e.g. videogen.credits.v1.CreditsService",
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds (default 2)")
    args = parser.parse_args(argv)
    try:
        status = check(args.address, args.service, args.timeout)
    except grpc.RpcError as exc:
        print(f"{args.address}: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 2
    print(f"{args.address} {args.service or '(server)'}: {status}")
    return 0 if status == SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
