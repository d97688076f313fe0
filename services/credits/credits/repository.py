"""Queries of the credits schema besides the batched mutations (mutations_store.py).

Each public coroutine is one transaction."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .domain import Account, Drift, Entry, Kind

_ENTRY_COLUMNS = (
    "id, user_id::text AS user_id, kind, amount, balance_after, reference, description, "
    "actor, created_at"
)
_ACCOUNT_COLUMNS = (
    "a.user_id::text AS user_id, a.balance, a.plan, p.unlimited, a.created_at,"
    " (SELECT coalesce(max(e.id), 0) FROM credits.entries e WHERE e.user_id = a.user_id)"
    " AS last_entry_id"
)

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
    )


def _account(row) -> Account:
    return Account(row.user_id, row.balance, row.plan, row.unlimited, row.created_at,
                   row.last_entry_id)


class LedgerRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ensure_account(self, user_id: str, grant: int) -> tuple[Account, bool]:
        async with self.engine.begin() as conn:
            created = (
                await conn.execute(
                    text(
                        "WITH new AS ("
                        " INSERT INTO credits.accounts (user_id, balance) VALUES (:u, :g)"
                        " ON CONFLICT (user_id) DO NOTHING RETURNING user_id, balance)"
                        " INSERT INTO credits.entries"
                        " (user_id, kind, amount, balance_after, description, actor)"
                        " SELECT user_id, 'signup_grant', balance, balance, 'Signup grant',"
                        " 'system' FROM new RETURNING id"
                    ),
                    {"u": user_id, "g": grant},
                )
            ).first()
            account = await self._account(conn, user_id)
        assert account is not None
        return account, created is not None

    async def get_account(self, user_id: str) -> Account | None:
        async with self.engine.connect() as conn:
            return await self._account(conn, user_id)

    @staticmethod
    async def _account(conn, user_id: str) -> Account | None:
        row = (
            await conn.execute(
                text(
                    f"SELECT {_ACCOUNT_COLUMNS} FROM credits.accounts a"
                    " JOIN credits.plans p ON p.code = a.plan WHERE a.user_id = :u"
                ),
                {"u": user_id},
            )
        ).first()
        return _account(row) if row else None

    async def plan_exists(self, plan: str) -> bool:
        async with self.engine.connect() as conn:
            found = await conn.execute(
                text("SELECT 1 FROM credits.plans WHERE code = :c"), {"c": plan}
            )
            return found.first() is not None

    async def set_plan(self, user_id: str, plan: str) -> Account | None:
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                text(
                    "UPDATE credits.accounts SET plan = :p, updated_at = now()"
                    " WHERE user_id = :u RETURNING user_id"
                ),
                {"u": user_id, "p": plan},
            )
            if updated.first() is None:
                return None
            return await self._account(conn, user_id)

    async def list_entries(
        self, user_id: str, *, before_id: int | None, limit: int,
        kinds: Sequence[Kind], reference: str,
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
            clauses.append("reference = :ref")
            params["ref"] = reference
        query = text(
            f"SELECT {_ENTRY_COLUMNS} FROM credits.entries WHERE {' AND '.join(clauses)}"
            " ORDER BY id DESC LIMIT :n"
        )
        async with self.engine.connect() as conn:
            return [_entry(r) for r in (await conn.execute(query, params)).all()]

    async def entries_after(self, user_id: str, after_id: int, limit: int) -> list[Entry]:
        query = text(f"SELECT {_ENTRY_COLUMNS} FROM credits.entries WHERE user_id = :u"
                     " AND id > :after ORDER BY id LIMIT :n")
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query, {"u": user_id, "after": after_id,
                                               "n": limit})).all()
        return [_entry(r) for r in rows]

    async def reconcile(self, user_id: str | None) -> tuple[int, list[Drift]]:
        """Balance vs Σ entries and the balance_after chain, in one consistent snapshot."""
        query = text(
            "WITH chain AS ("
            " SELECT user_id, id, amount, balance_after, lag(balance_after, 1, 0::bigint)"
            " OVER (PARTITION BY user_id ORDER BY id) AS before"
            " FROM credits.entries WHERE (CAST(:u AS uuid) IS NULL OR user_id = :u)),"
            " sums AS ("
            " SELECT user_id, sum(amount) AS total,"
            " min(id) FILTER (WHERE before + amount <> balance_after) AS broken,"
            " (array_agg(balance_after ORDER BY id DESC))[1] AS last_after"
            " FROM chain GROUP BY user_id),"
            " checked AS ("
            " SELECT a.user_id::text AS user_id, a.balance, coalesce(s.total, 0) AS total,"
            " coalesce(s.broken, 0) AS broken, coalesce(s.last_after, 0) AS last_after"
            " FROM credits.accounts a LEFT JOIN sums s ON s.user_id = a.user_id"
            " WHERE (CAST(:u AS uuid) IS NULL OR a.user_id = :u))"
            " SELECT c.*, n.n AS checked_count FROM (SELECT count(*) AS n FROM checked) n"
            " LEFT JOIN checked c ON (c.balance <> c.total OR c.last_after <> c.balance"
            " OR c.broken <> 0)"
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query, {"u": user_id})).all()
        drifts = []
        for r in rows:
            if r.user_id is None:
                continue
            problems = []
            if r.balance != r.total:
                problems.append(f"balance {r.balance} != sum of entries {r.total}")
            if r.last_after != r.balance:
                problems.append(f"last balance_after {r.last_after} != balance {r.balance}")
            if r.broken:
                problems.append(f"entry {r.broken} does not follow from the one before")
            if problems:
                drifts.append(Drift(r.user_id, r.balance, int(r.total), int(r.broken),
                                    "; ".join(problems)))
        return int(rows[0].checked_count), drifts
