"""PostgreSQL LISTEN with reconnects, fanned out to in-process subscribers by key.

Writers notify inside their transaction, so a change is announced when it commits,
whichever replica made it. After a reconnect, every subscriber gets RESYNC: changes may
have been missed, so it should read the current state again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Generic, TypeVar

import psycopg

log = logging.getLogger(__name__)

RECONNECT_DELAY_MAX_S = 5.0
RESYNC = None
T = TypeVar("T")


class Listener(Generic[T]):
    def __init__(
        self,
        libpq_url: str,
        channel: str,
        parse: Callable[[str], tuple[str, T]],
        queue_max: int = 64,
    ) -> None:
        """``parse`` turns a payload into (subscriber key, item); ValueError drops it."""
        assert channel.isidentifier(), channel
        self._url = libpq_url
        self._channel = channel
        self._parse = parse
        self._queue_max = queue_max
        self._subscribers: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def subscribe(self, key: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(self._queue_max)
        self._subscribers[key].add(queue)
        return queue

    def unsubscribe(self, key: str, queue: asyncio.Queue) -> None:
        queues = self._subscribers.get(key)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[key]

    @staticmethod
    def _offer(queue: asyncio.Queue, item) -> None:
        # Subscribers read current state; a slow one loses stale items, never the latest.
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(item)

    def _dispatch(self, payload: str) -> None:
        try:
            key, item = self._parse(payload)
        except ValueError:
            log.error("malformed notification", extra={"channel": self._channel})
            return
        for queue in tuple(self._subscribers.get(key, ())):
            self._offer(queue, item)

    def _resync_all(self) -> None:
        for queues in tuple(self._subscribers.values()):
            for queue in tuple(queues):
                self._offer(queue, RESYNC)

    async def _run(self) -> None:
        delay_s, connected_before = 0.1, False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {self._channel}")
                    if connected_before:
                        self._resync_all()
                    connected_before, delay_s = True, 0.1
                    self.listening.set()
                    async for notify in conn.notifies():
                        self._dispatch(notify.payload)
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                log.warning(
                    "listener disconnected",
                    extra={"channel": self._channel, "error": type(exc).__name__},
                )
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, RECONNECT_DELAY_MAX_S)
