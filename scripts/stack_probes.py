"""Reaching a service of `make run`: where to probe it, whether it is ready, whether its
port is already taken by something else."""

from __future__ import annotations

import asyncio
import http.client
import socket
import urllib.request
from collections.abc import Awaitable, Callable

import grpc
import health_check

# Asked for without a host, a server on these listens everywhere, localhost included.
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}
# Probes go straight to the port, never through an HTTP(S)_PROXY from the environment.
HTTP_PROBE = urllib.request.build_opener(urllib.request.ProxyHandler({}))


async def grpc_serving(address: str) -> bool:
    try:
        status = await asyncio.to_thread(health_check.check, address, "", 1.0)
    except grpc.RpcError:
        return False  # not listening yet, or still starting
    return status == health_check.SERVING


def http_ok(path: str) -> Callable[[str], Awaitable[bool]]:
    """Readiness of an HTTP server: GET ``path`` answers 200."""

    def get(url: str) -> bool:
        with HTTP_PROBE.open(url, timeout=1.0) as response:
            return response.status == 200

    async def ready(address: str) -> bool:
        try:
            return await asyncio.to_thread(get, f"http://{address}{path}")
        except (OSError, http.client.HTTPException):
            return False  # not listening yet, or answering an error status

    return ready


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise SystemExit(f"run_stack: {address!r} is not host:port")
    return host, int(port)


def probe_address(address: str) -> str:
    """Where to reach a server that was told to listen on ``address``."""
    host, port = split_address(address)
    if port == 0:
        raise SystemExit(f"run_stack: {address}: give a fixed port so it can be probed")
    return f"127.0.0.1:{port}" if host in WILDCARD_HOSTS else address


def port_in_use(address: str) -> bool:
    # Something already answering (say, a stack left running elsewhere) would pass
    # our health probe before the new child fails to bind, so refuse up front.
    host, port = split_address(address)
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=0.5):
            return True
    except OSError:
        return False
