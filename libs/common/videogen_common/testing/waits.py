"""What tests, the soak and the benchmarks share: a free loopback port, and waiting for a
condition instead of sleeping for a guess."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
from collections.abc import Awaitable, Callable
from typing import Any


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports nobody listens on right now: all held open while
    they are drawn, so that no two of them are the same port."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


async def eventually(
    probe: Callable[[], Any | Awaitable[Any]], timeout_s: float = 15.0, interval_s: float = 0.05
) -> Any:
    """Call ``probe`` (sync or async) until it returns something truthy, and return that;
    fail after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met in {timeout_s} s (last: {value!r})")
        await asyncio.sleep(interval_s)
