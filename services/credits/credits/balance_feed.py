"""Balance changes from every replica, through PostgreSQL LISTEN/NOTIFY.

credits.apply_one notifies on channel ``credits_balance`` inside the writing
transaction, so a change is announced exactly when it commits, whoever committed it.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

import psycopg

from .domain import Kind

log = logging.getLogger(__name__)

CHANNEL = "credits_balance"
RECONNECT_DELAY_MAX_S = 5.0


@dataclass(frozen=True)
class BalanceChange:
    user_id: str
    balance: int
    entry_id: int
    kind: Kind
    amount: int


# Put on every queue after the listener reconnects: changes may have been missed, so
# watchers should read the balance again.
RESYNC = None


def parse(payload: str) -> BalanceChange:
    user_id, balance, entry_id, kind, amount = payload.split(",")
    return BalanceChange(user_id, int(balance), int(entry_id), Kind(kind), int(amount))


class BalanceFeed:
    def __init__(self, libpq_url: str, queue_max: int = 64) -> None:
        self._url = libpq_url
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

    def subscribe(self, user_id: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(self._queue_max)
        self._subscribers[user_id].add(queue)
        return queue

    def unsubscribe(self, user_id: str, queue: asyncio.Queue) -> None:
        queues = self._subscribers.get(user_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[user_id]

    def _offer(self, queue: asyncio.Queue, item: BalanceChange | None) -> None:
        # Balances are absolute: a slow watcher loses stale changes, never the latest.
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(item)

    def _dispatch(self, payload: str) -> None:
        try:
            change = parse(payload)
        except ValueError:
            log.error("malformed balance notification", extra={"payload_length": len(payload)})
            return
        for queue in tuple(self._subscribers.get(change.user_id, ())):
            self._offer(queue, change)

    async def _run(self) -> None:
        delay_s = 0.1
        connected_before = False
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if connected_before:
                        for queues in tuple(self._subscribers.values()):
                            for queue in tuple(queues):
                                self._offer(queue, RESYNC)
                    connected_before = True
                    self.listening.set()
                    delay_s = 0.1
                    async for notify in conn.notifies():
                        self._dispatch(notify.payload)
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                log.warning("balance listener disconnected", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, RECONNECT_DELAY_MAX_S)
