"""The shape every service process shares: settings once, JSON logs, run until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import uvloop
from aiohttp import web

from .grpc_server import wait_for_termination_signal
from .logs import configure_logging
from .settings import ServiceSettings, load_settings
from .tracing import setup_tracing
from .workers import die_with_supervisor, supervise, worker_index

log = logging.getLogger(__name__)
S = TypeVar("S", bound=ServiceSettings)


class Stoppable(Protocol):
    port: int

    async def stop(self) -> None: ...


def run_service(
    name: str, settings_type: type[S], start: Callable[[S], Awaitable[Stoppable]]
) -> None:
    """Entry point body: load settings (or exit with a clear message), serve, stop."""
    settings = load_settings(settings_type)
    worker = worker_index()
    if worker is not None:
        die_with_supervisor()
    configure_logging(name, settings.log_level, worker)
    if settings.workers > 1 and worker is None:
        raise SystemExit(
            supervise(name, settings.workers, settings.metrics_port, settings.shutdown_grace_s)
        )
    setup_tracing(name)  # before any server or client is made: they are wrapped then

    async def serve() -> None:
        app = await start(settings)
        log.info(f"{name} listening", extra={"port": app.port, "pid": os.getpid()})
        await wait_for_termination_signal()
        await app.stop()
        log.info(f"{name} stopped")

    if settings.event_loop == "uvloop":
        uvloop.run(serve())
    else:
        asyncio.run(serve())


async def start_site(
    app: web.Application, host: str, port: int, reuse_port: bool = False, **runner_options
) -> tuple[web.AppRunner, int]:
    """Serve an aiohttp app; returns the runner and the bound port (port 0 picks one).
    ``reuse_port``: several worker processes bind the same port (SO_REUSEPORT)."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    await site.start()
    return runner, int(runner.addresses[0][1])


@dataclass
class HttpApp:
    """A running aiohttp service and what it must close when it stops."""

    runner: web.AppRunner
    port: int
    channels: list = field(default_factory=list)
    # Anything with ``async close()`` (connection pools).
    closeables: list = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        for channel in self.channels:
            await channel.close()
        for closeable in self.closeables:
            await closeable.close()
