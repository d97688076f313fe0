"""What watchers see: the ordered event log of a user's generations (migration g0003).

Notifications only wake a watcher; what it sends comes from the log, after its position,
so nothing is skipped and nothing is sent twice, whichever replica made the change and
however the notifications were lost, merged or reordered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

from psycopg_pool import AsyncConnectionPool

from videogen_common.db import fetch_all, fetch_one, psycopg_statement
from videogen_common.pg_listen import Listener

from .domain import Charge, Generation, Status
from .repository import columns, generation_from

# A watcher that missed more than this many events gets the current state instead.
REPLAY_MAX = 500
# Generations sent as they are now on a resync.
RESYNC_GENERATIONS = 20
PRUNE_BATCH = 5000
LISTEN_WAIT_S = 5.0


@dataclass(frozen=True)
class Event:
    event_id: int
    generation: Generation | None  # None: a message that only names the position
    resync: bool = False


def parse_notification(payload: str) -> tuple[str, int]:
    user_id, _, event_id = payload.split(",")
    return user_id, int(event_id)


class EventLog:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool  # the repository's: autocommit, one statement each

    async def after(self, user_id: str, after_id: int, limit: int) -> list[Event]:
        async with self.pool.connection() as conn:
            rows = await fetch_all(
                conn,
                "SELECT e.id AS event_id, e.status AS e_status, e.progress AS e_progress,"
                f" e.video_url AS e_video_url, e.charge AS e_charge, {columns('g')}"
                " FROM generation.events e JOIN generation.generations g"
                " ON g.id = e.generation_id WHERE e.user_id = :u AND e.id > :after"
                " ORDER BY e.id LIMIT :n",
                {"u": user_id, "after": after_id, "n": limit},
            )
        return [self._event(row) for row in rows]

    @staticmethod
    def _event(values: dict) -> Event:
        event_id = values.pop("event_id")
        # As the event left it: the row may have moved on since.
        status, progress = values.pop("e_status"), values.pop("e_progress")
        video_url, charge = values.pop("e_video_url"), values.pop("e_charge")
        current = generation_from(values)
        return Event(
            event_id,
            replace(
                current,
                status=Status(status),
                progress=progress,
                video_url=video_url,
                charge=Charge(charge),
            ),
        )

    async def position(self, user_id: str) -> tuple[int, int]:
        """(the user's newest event id, the oldest id still kept by anyone)."""
        async with self.pool.connection() as conn:
            row = await fetch_one(
                conn,
                "SELECT (SELECT coalesce(max(id), 0) FROM generation.events"
                "  WHERE user_id = :u) AS newest,"
                " (SELECT coalesce(min(id), 0) FROM generation.events) AS oldest",
                {"u": user_id},
            )
        assert row is not None  # an aggregate: always one row
        return int(row["newest"]), int(row["oldest"])

    async def recent(self, user_id: str) -> list[Generation]:
        async with self.pool.connection() as conn:
            rows = await fetch_all(
                conn,
                f"SELECT {columns()} FROM generation.generations WHERE user_id = :u"
                " ORDER BY seq DESC LIMIT :n",
                {"u": user_id, "n": RESYNC_GENERATIONS},
            )
        return [generation_from(row) for row in rows][::-1]

    async def prune(self, keep: timedelta) -> int:
        """Forget events older than ``keep``, a bounded batch at a time."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                psycopg_statement(
                    "DELETE FROM generation.events WHERE id IN (SELECT id FROM generation.events"
                    " WHERE created_at < now() - :keep ORDER BY id LIMIT :n)"
                ),
                {"keep": keep, "n": PRUNE_BATCH},
            )
        return max(cursor.rowcount, 0)

    async def watch(
        self, listener: Listener[int], user_id: str, after_id: int
    ) -> AsyncIterator[Event]:
        """The position first (or every event after ``after_id``), then each new event."""
        queue = listener.subscribe(user_id)
        try:
            # Not wait_for: on Python 3.11 it can drop a cancel (see videogen_common.db.Pool).
            async with asyncio.timeout(LISTEN_WAIT_S):
                await listener.listening.wait()
            newest, oldest = await self.position(user_id)
            if after_id <= 0 or after_id > newest:
                position = newest
                yield Event(position, None)
            elif after_id < oldest - 1:
                position = newest  # some of what was missed is no longer kept
                for gen in await self.recent(user_id):
                    yield Event(position, gen, resync=True)
            else:
                position = after_id
            while True:
                events = await self.after(user_id, position, REPLAY_MAX + 1)
                if len(events) > REPLAY_MAX:
                    newest, _ = await self.position(user_id)
                    position = newest
                    for gen in await self.recent(user_id):
                        yield Event(position, gen, resync=True)
                    continue
                for event in events:
                    position = event.event_id
                    yield event
                await queue.get()  # a wake-up (or RESYNC after a reconnect): read again
        finally:
            listener.unsubscribe(user_id, queue)
