"""Prometheus metrics: per-RPC counters and latency, and the /metrics endpoint."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram, start_http_server

if TYPE_CHECKING:
    from .settings import ServiceSettings

RPC_TOTAL = Counter(
    "grpc_server_handled_total",
    "RPCs completed, by method and status code",
    ["service", "method", "code"],
)
RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "RPC latency in seconds",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class RpcTimer:
    """Times one RPC; ``code`` is set by the handler when it ends with an error."""

    def __init__(self, service: str, method: str) -> None:
        self.service, self.method, self.code = service, method, "OK"


@contextmanager
def observe_rpc(service: str, method: str):
    timer = RpcTimer(service, method)
    started = time.perf_counter()
    try:
        yield timer
    finally:
        RPC_SECONDS.labels(service, method).observe(time.perf_counter() - started)
        RPC_TOTAL.labels(service, method, timer.code).inc()


def serve_metrics(settings: ServiceSettings, address: str = "0.0.0.0") -> None:
    """Expose /metrics on the settings' metrics port; 0 means no endpoint (tests run many
    servers in one process). With several workers their supervisor serves it for all."""
    if settings.metrics_port and settings.workers == 1:
        start_http_server(settings.metrics_port, addr=address)
