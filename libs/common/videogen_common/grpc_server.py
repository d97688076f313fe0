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


def create_server(
    registrations: Sequence[Registration],
    address: str,
    tls: TlsFiles | None = None,
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Build a server bound to ``address`` (port 0 picks one) and return the bound port.

    Every registered service starts NOT_SERVING; the caller flips health when ready.
    """
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
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
    return server, port, health_servicer


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
    engine,
    health_servicer: health.aio.HealthServicer,
    names: Sequence[str],
    interval_s: float,
    query_timeout_s: float = 2.0,
    on_first_contact: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Health follows the database: NOT_SERVING while it cannot answer a query (and,
    with ``on_first_contact``, until that has run once without failing)."""
    from sqlalchemy import text

    serving = None
    while True:
        try:
            async with asyncio.timeout(query_timeout_s):
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
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
