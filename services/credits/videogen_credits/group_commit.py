"""Group commit: concurrent requests share one database transaction.

Requests queue while a batch is in flight; the next batch takes up to ``batch_max`` of
them. Each request still gets its own outcome (the database function runs each item in
its own subtransaction); the batch shares the round trip and the commit, which is where
the time goes. No timer: an idle service runs each request at once.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        execute: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        *,
        batch_max: int,
        batches_in_flight_max: int,
        queue_max: int,
    ) -> None:
        assert batch_max >= 1 and batches_in_flight_max >= 1 and queue_max >= batch_max
        self._execute = execute
        self._batch_max = batch_max
        self._in_flight_max = batches_in_flight_max
        self._queue_max = queue_max
        self._pending: collections.deque[tuple[T, asyncio.Future[R]]] = collections.deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def queue_full(self) -> bool:
        return len(self._pending) >= self._queue_max

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._start_batches()
        return await future

    def _start_batches(self) -> None:
        while self._pending and self._in_flight < self._in_flight_max:
            size = min(self._batch_max, len(self._pending))
            batch = [self._pending.popleft() for _ in range(size)]
            self._in_flight += 1
            task = asyncio.create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._execute([item for item, _ in batch])
            assert len(results) == len(batch), "one result per item"
            for (_, future), result in zip(batch, results, strict=False):
                if not future.done():
                    future.set_result(result)
        except BaseException as exc:  # every waiter must hear about the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._in_flight -= 1
            self._start_batches()

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
