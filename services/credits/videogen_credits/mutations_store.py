"""The hot path: a batch of ledger mutations in one statement, one round trip.

This uses psycopg directly rather than SQLAlchemy: measured under load, the engine's
BEGIN / statement / COMMIT (three round trips) and its greenlet hops cost more per batch
than the database work. A single statement in autocommit mode is its own transaction,
so the batch still commits atomically, and psycopg prepares it after a few uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from .domain import Entry, Hold, HoldStatus, Kind, Mutation

_APPLY_BATCH = (
    "SELECT ord, status, entry_id, user_id::text, kind, amount, balance_after, reference,"
    " description, actor, created_at, balance, required, replayed, hold_id, hold_amount,"
    " hold_status, captured, debt"
    " FROM credits.apply_batch(%s::text[], %s::uuid[], %s::bigint[], %s::text[],"
    " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[],"
    " %s::timestamptz[], %s::int[], %s::timestamptz[], %s::bigint[])"
)

# After these the whole statement rolled back and may simply run again: every item is
# keyed, so a retry can never apply anything twice.
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
BATCH_ATTEMPTS_MAX = 5
RETRY_DELAY_S = 0.005


@dataclass(frozen=True)
class Outcome:
    """One item's verdict from credits.apply_batch."""

    status: str
    entry: Entry | None
    balance: int | None
    required: int | None
    replayed: bool
    hold: Hold | None = None
    debt: int = 0


def _outcome(row: tuple) -> Outcome:
    (
        _,
        status,
        entry_id,
        user_id,
        kind,
        amount,
        balance_after,
        reference,
        description,
        actor,
        created_at,
        balance,
        required,
        replayed,
        hold_id,
        hold_amount,
        hold_status,
        captured,
        debt,
    ) = row
    entry = None
    if status == "ok" and entry_id is not None:
        entry = Entry(
            entry_id,
            user_id,
            Kind(kind),
            amount,
            balance_after,
            reference,
            description,
            actor,
            created_at,
        )
    hold = None
    if hold_id is not None:
        hold = Hold(hold_id, user_id, reference, hold_amount, HoldStatus(hold_status), captured)
    return Outcome(status, entry, balance, required, bool(replayed), hold, debt or 0)


class MutationStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def apply_batch(self, items: Sequence[Mutation]) -> list[Outcome]:
        params = (
            [m.op.value for m in items],
            [m.user_id for m in items],
            [m.amount for m in items],
            [m.kind.value for m in items],
            [m.reference for m in items],
            [m.idempotency_key for m in items],
            [m.fingerprint for m in items],
            [m.description for m in items],
            [m.actor for m in items],
            [m.source.value if m.source else None for m in items],
            [m.priority for m in items],
            [m.expires_at for m in items],
            [m.timeout_s for m in items],
            [m.period_end for m in items],
            [m.rollover_cap for m in items],
        )
        for attempt in range(1, BATCH_ATTEMPTS_MAX + 1):
            try:
                async with self._pool.connection() as conn:
                    rows = await (await conn.execute(_APPLY_BATCH, params)).fetchall()
                break
            except _RETRYABLE:
                if attempt == BATCH_ATTEMPTS_MAX:
                    raise
                await asyncio.sleep(RETRY_DELAY_S * attempt)
        rows.sort(key=lambda r: r[0])
        return [_outcome(r) for r in rows]

    async def sweep(self, function: str, limit: int) -> int:
        """One sweep step (credits.expire_due or credits.release_due_holds): how many
        grants or holds it settled."""
        assert function in ("expire_due", "release_due_holds")
        async with self._pool.connection() as conn:
            row = await (await conn.execute(f"SELECT credits.{function}(%s)", (limit,))).fetchone()
        return int(row[0]) if row else 0
