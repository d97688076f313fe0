"""Queries of the credits schema besides the batched mutations (mutations_store.py).

Each public coroutine is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from videogen_common.db import fetch_all

from .domain import Account, Drift, Entry, Grant, Hold, HoldStatus, Kind, Plan, Source
from .reconcile import RECONCILE, drifts_of

_ENTRY_COLUMNS = (
    "id, user_id::text AS user_id, kind, amount, balance_after, reference, description, "
    "actor, created_at, debt_delta"
)
# What can be spent is read from the live grants: credits past their expiry are never
# counted, whether the sweep has taken them out yet or not.
_LIVE = "g.user_id = a.user_id AND NOT g.drained AND (g.expires_at IS NULL OR g.expires_at > now())"
_ACCOUNT_COLUMNS = (
    "a.user_id::text AS user_id, a.balance, a.plan, p.unlimited, a.created_at,"
    " (SELECT coalesce(max(e.id), 0) FROM credits.entries e WHERE e.user_id = a.user_id)"
    " AS last_entry_id,"
    f" (SELECT coalesce(sum(g.remaining), 0) FROM credits.grants g WHERE {_LIVE})"
    " AS available, a.reserved, a.debt, a.plan_period_end,"
    f" (SELECT min(g.expires_at) FROM credits.grants g WHERE {_LIVE}) AS next_expiry_at,"
    f" (SELECT coalesce(sum(g.remaining), 0) FROM credits.grants g WHERE {_LIVE}"
    "  AND g.expires_at = (SELECT min(x.expires_at) FROM credits.grants x"
    "   WHERE x.user_id = a.user_id AND NOT x.drained AND x.expires_at > now()))"
    " AS next_expiry_amount"
)
_ACCOUNT_QUERY = (
    f"SELECT {_ACCOUNT_COLUMNS} FROM credits.accounts a"
    " JOIN credits.plans p ON p.code = a.plan WHERE a.user_id = :u"
)
_GRANT_COLUMNS = (
    "id, source, amount, remaining, expired, priority, expires_at, reference,"
    " created_at, reversed_by IS NOT NULL AS reversed"
)
_HOLD_COLUMNS = "id, user_id::text AS user_id, reference, amount, status, captured, expires_at"


def _entry(row) -> Entry:
    return Entry(
        id=row.id,
        user_id=row.user_id,
        kind=Kind(row.kind),
        amount=row.amount,
        balance_after=row.balance_after,
        reference=row.reference,
        description=row.description,
        actor=row.actor,
        created_at=row.created_at,
        debt_delta=row.debt_delta,
    )


def _account(row) -> Account:
    return Account(
        row.user_id,
        row.balance,
        row.plan,
        row.unlimited,
        row.created_at,
        row.last_entry_id,
        int(row.available),
        row.reserved,
        row.debt,
        row.plan_period_end,
        row.next_expiry_at,
        int(row.next_expiry_amount),
    )


class LedgerRepository:
    def __init__(self, engine: AsyncEngine, pool: AsyncConnectionPool) -> None:
        self.engine = engine
        # Reads of one statement each (or several that need no common snapshot: READ
        # COMMITTED gives each its own anyway) run in autocommit: no BEGIN and ROLLBACK
        # round trips around them.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        # The reads every page and every API call make (the balance, the grants, a
        # history page) go through psycopg's own pool (autocommit), the one mutations
        # use: SQLAlchemy's layer costs about three times psycopg's CPU per statement.
        self._pool = pool

    async def _fetch(self, conn, statement: str, params: dict) -> list:
        return await fetch_all(conn, statement, params, namedtuple_row)

    async def ensure_account(self, user_id: str, grant: int) -> tuple[Account, bool]:
        async with self.engine.begin() as conn:
            created: object = (
                await conn.execute(
                    text("SELECT credits.open_account(:u, :g)"), {"u": user_id, "g": grant}
                )
            ).scalar_one()
            account = await self._account(conn, user_id)
        assert account is not None
        return account, bool(created)

    async def get_account(self, user_id: str) -> Account | None:
        async with self._pool.connection() as conn:
            rows = await self._fetch(conn, _ACCOUNT_QUERY, {"u": user_id})
        return _account(rows[0]) if rows else None

    @staticmethod
    async def _account(conn, user_id: str) -> Account | None:
        row = (await conn.execute(text(_ACCOUNT_QUERY), {"u": user_id})).first()
        return _account(row) if row else None

    async def plan_exists(self, plan: str) -> bool:
        async with self._reads.connect() as conn:
            found = await conn.execute(
                text("SELECT 1 FROM credits.plans WHERE code = :c"), {"c": plan}
            )
            return found.first() is not None

    async def set_plan(
        self, user_id: str, plan: str, period_end: datetime | None
    ) -> Account | None:
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                text(
                    "UPDATE credits.accounts SET plan = :p, plan_period_end = :end,"
                    " updated_at = now() WHERE user_id = :u RETURNING user_id"
                ),
                {"u": user_id, "p": plan, "end": period_end},
            )
            if updated.first() is None:
                return None
            return await self._account(conn, user_id)

    async def sync_plans(self, plans: Sequence[Plan]) -> None:
        """The configured plans, as the rows accounts refer to (none is ever deleted)."""
        async with self.engine.begin() as conn:
            for plan in plans:
                await conn.execute(
                    text(
                        "INSERT INTO credits.plans (code, unlimited, allotment, rollover_cap)"
                        " VALUES (:c, :u, :a, :r) ON CONFLICT (code) DO UPDATE SET"
                        " unlimited = excluded.unlimited, allotment = excluded.allotment,"
                        " rollover_cap = excluded.rollover_cap"
                    ),
                    {
                        "c": plan.code,
                        "u": plan.unlimited,
                        "a": plan.allotment,
                        "r": plan.rollover_cap,
                    },
                )

    async def grants(self, user_id: str, include_spent: bool) -> tuple[list[Grant], list[Hold]]:
        """Grants in spend order, and the open holds."""
        live = (
            ""
            if include_spent
            else " AND NOT drained AND (expires_at IS NULL OR expires_at > now())"
        )
        async with self._pool.connection() as conn:
            grants = await self._fetch(
                conn,
                f"SELECT {_GRANT_COLUMNS} FROM credits.grants WHERE user_id = :u{live}"
                " ORDER BY remaining = 0, priority DESC, expires_at ASC NULLS LAST, id",
                {"u": user_id},
            )
            holds = await self._fetch(
                conn,
                f"SELECT {_HOLD_COLUMNS} FROM credits.holds WHERE user_id = :u"
                " AND status = 'open' ORDER BY id",
                {"u": user_id},
            )
        return (
            [
                Grant(
                    r.id,
                    Source(r.source),
                    r.amount,
                    r.remaining,
                    r.expired,
                    r.priority,
                    r.expires_at,
                    r.reference,
                    r.created_at,
                    r.reversed,
                )
                for r in grants
            ],
            [
                Hold(
                    r.id,
                    r.user_id,
                    r.reference,
                    r.amount,
                    HoldStatus(r.status),
                    r.captured,
                    r.expires_at,
                )
                for r in holds
            ],
        )

    async def list_entries(
        self,
        user_id: str,
        *,
        before_id: int | None,
        limit: int,
        kinds: Sequence[Kind],
        reference: str,
    ) -> list[Entry]:
        clauses = ["user_id = :u"]
        params: dict[str, object] = {"u": user_id, "n": limit}
        if before_id is not None:
            clauses.append("id < :before")
            params["before"] = before_id
        if kinds:
            clauses.append("kind = ANY(:kinds)")
            params["kinds"] = [k.value for k in kinds]
        if reference:
            # Spelled out so the planner may use the index of entries with a reference
            # (ix_entries_user_reference_id) in a generic plan too.
            clauses.append("reference = :ref AND reference <> ''")
            params["ref"] = reference
        query = (
            f"SELECT {_ENTRY_COLUMNS} FROM credits.entries WHERE {' AND '.join(clauses)}"
            " ORDER BY id DESC LIMIT :n"
        )
        async with self._pool.connection() as conn:
            return [_entry(r) for r in await self._fetch(conn, query, params)]

    async def entries_after(self, user_id: str, after_id: int, limit: int) -> list[Entry]:
        query = text(
            f"SELECT {_ENTRY_COLUMNS} FROM credits.entries WHERE user_id = :u"
            " AND id > :after ORDER BY id LIMIT :n"
        )
        async with self._reads.connect() as conn:
            rows = (await conn.execute(query, {"u": user_id, "after": after_id, "n": limit})).all()
        return [_entry(r) for r in rows]

    async def reconcile(self, user_id: str | None) -> tuple[int, list[Drift]]:
        """Every invariant of the ledger, per account, in one consistent snapshot."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(RECONCILE), {"u": user_id})).all()
        return drifts_of(rows)
