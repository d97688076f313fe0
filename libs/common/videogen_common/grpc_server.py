"""gRPC server bootstrap: health, reflection, optional TLS, graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

log = logging.getLogger(__name__)

# Bodies above this are refused by gRPC itself before any handler runs.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TlsFiles:
    cert_path: Path
    key_path: Path
    # When set, clients must present a certificate signed by this CA (mutual TLS).
    client_ca_path: Path | None = None


@dataclass
class Registration:
    """One service on the server: how to add it, and its full name for health/reflection."""

    add: Callable[[grpc.aio.Server], None]
    full_name: str


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials:
    key = tls.key_path.read_bytes()
    cert = tls.cert_path.read_bytes()
    ca = tls.client_ca_path.read_bytes() if tls.client_ca_path else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


# Seconds a server's stop may take beyond its grace before shutdown goes on without it.
STOP_SLACK_S = 10.0


@dataclass(frozen=True)
class ServerOptions:
    """How a service's gRPC server listens, beyond its address."""

    tls: TlsFiles | None = None
    # Connections are closed (GOAWAY, calls in flight finish) after this long, so that
    # clients resolve the Service again and spread over replicas added since.
    max_connection_age_s: float = 300.0
    # A second, plain-text server with the health service only (kubelet's gRPC probes
    # cannot speak TLS); 0: none. It shares the main server's health states.
    health_port: int = 0
    # Several worker processes bind the same ports (SO_REUSEPORT; *_WORKERS > 1).
    reuse_port: bool = False


class Servers:
    """The service's server and, if asked for, its plain-text health server: started
    and stopped together, like the one server the callers knew."""

    def __init__(self, main: grpc.aio.Server, health_only: grpc.aio.Server | None) -> None:
        self.main, self.health_only = main, health_only

    async def start(self) -> None:
        await self.main.start()
        if self.health_only is not None:
            await self.health_only.start()

    async def stop(self, grace: float | None) -> None:
        if self.health_only is not None:
            await self.health_only.stop(0)
        try:
            # Past its grace a stop cancels every call. A stop that still has not ended
            # after STOP_SLACK_S is cancelled and logged; if it ignores even that (seen,
            # rarely, with a new event loop per test), the pod's grace period ends it.
            async with asyncio.timeout((grace or 0) + STOP_SLACK_S):
                await self.main.stop(grace)
        except TimeoutError:
            log.warning("gRPC server still stopping after its grace; going on")


def create_server(
    registrations: Sequence[Registration],
    address: str,
    options: ServerOptions | None = None,
) -> tuple[Servers, int, health.aio.HealthServicer]:
    """Build a server bound to ``address`` (port 0 picks one) and return the bound port.

    Every registered service starts NOT_SERVING; the caller flips health when ready.
    """
    options = options or ServerOptions()
    tls = options.tls
    age_ms = int(options.max_connection_age_s * 1000)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", int(options.reuse_port)),
            ("grpc.max_connection_age_ms", age_ms),
            # Long enough for a unary call to end; watch streams resume where they were.
            ("grpc.max_connection_age_grace_ms", 30_000),
        ]
    )
    for registration in registrations:
        registration.add(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [r.full_name for r in registrations]
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, server_credentials(tls))
    if port == 0:
        raise RuntimeError(f"could not bind gRPC server to {address}")
    health_only = None
    if options.health_port:
        health_only = grpc.aio.server(options=[("grpc.so_reuseport", int(options.reuse_port))])
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_only)
        host = address.rsplit(":", 1)[0]
        if not health_only.add_insecure_port(f"{host}:{options.health_port}"):
            raise RuntimeError(f"could not bind the health server to port {options.health_port}")
    return Servers(server, health_only), port, health_servicer


async def set_serving(
    health_servicer: health.aio.HealthServicer, names: Sequence[str], serving: bool
) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", *names):
        await health_servicer.set(name, status)


async def wait_for_termination_signal() -> None:
    """Return on the first SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("termination signal received")


async def follow_database(
    ping: Callable[[], Awaitable[None]],
    health_servicer: health.aio.HealthServicer,
    names: Sequence[str],
    interval_s: float,
    query_timeout_s: float = 2.0,
    on_first_contact: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Health follows the database: NOT_SERVING while it cannot answer a query (and,
    with ``on_first_contact``, until that has run once without failing). ``ping`` raises
    while the database cannot answer (videogen_common.db.ping)."""
    serving = None
    while True:
        try:
            async with asyncio.timeout(query_timeout_s):
                await ping()
            if on_first_contact is not None:
                await on_first_contact()
                on_first_contact = None
            ok = True
        except Exception as exc:  # any failure to reach the database means not serving
            ok = False
            if serving is not False:
                log.warning("database unreachable", extra={"error": type(exc).__name__})
        if ok != serving:
            await set_serving(health_servicer, names, ok)
            serving = ok
        await asyncio.sleep(interval_s)
