"""Client channels: deadlines are per call; retries on UNAVAILABLE by gRPC's own policy."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import grpc

from .grpc_server import MAX_MESSAGE_BYTES


def retry_service_config(services: Sequence[str], attempts_max: int = 5) -> str:
    """gRPC retries only what never reached a handler or was refused as UNAVAILABLE."""
    return json.dumps({"methodConfig": [{
        "name": [{"service": name} for name in services],
        "retryPolicy": {
            "maxAttempts": attempts_max,
            "initialBackoff": "0.1s",
            "maxBackoff": "2s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]})


def open_channel(address: str, services: Sequence[str],
                 ca_path: Path | None = None) -> grpc.aio.Channel:
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", retry_service_config(services)),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    if ca_path is None:
        return grpc.aio.insecure_channel(address, options=options)
    credentials = grpc.ssl_channel_credentials(ca_path.read_bytes())
    return grpc.aio.secure_channel(address, credentials, options=options)
