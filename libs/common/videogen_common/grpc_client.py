"""Client channels: deadlines are per call, calls spread over every replica.

No retry policy: gRPC's own policy would also repeat an UNAVAILABLE that a server
answered (overloaded, its database down), multiplying load exactly when a service is
struggling. Calls that never reached a server are still retried transparently by gRPC;
callers with keyed, repeatable calls retry the rest themselves (see the credits client).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import grpc

from .grpc_server import MAX_MESSAGE_BYTES

SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})


def channel_target(address: str) -> str:
    """``host:port``, a gRPC target (``dns:///credits:50051``, which round-robins over
    every address the name resolves to), or several ``ip:port`` separated by commas."""
    parts = [p.strip() for p in address.split(",") if p.strip()]
    if len(parts) <= 1:
        return address.strip()
    return "ipv4:" + ",".join(parts)


@dataclass(frozen=True)
class ClientTls:
    """TLS towards our gRPC services: the CA that signed their certificates and, for
    mutual TLS, this service's own certificate and key."""

    ca_path: Path
    cert_path: Path | None = None
    key_path: Path | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        cert = self.cert_path.read_bytes() if self.cert_path else None
        key = self.key_path.read_bytes() if self.key_path else None
        return grpc.ssl_channel_credentials(self.ca_path.read_bytes(), key, cert)


def open_channel(address: str, tls: ClientTls | None = None) -> grpc.aio.Channel:
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", SERVICE_CONFIG),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        # A replica that went away is noticed and left, and tried again soon after.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 2000),
    ]
    target = channel_target(address)
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options)
    return grpc.aio.secure_channel(target, tls.credentials(), options=options)
