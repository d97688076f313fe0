"""Every query of the generation schema. Each public coroutine is one transaction."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .records import Generation
from .rules import Status
from .transitions import Changes

_COLUMNS = (
    "id::text AS id, user_id::text AS user_id, model, resolution, prompt, negative_prompt,"
    " duration_s, seed, image_url, provider_model, provider_input, price, status, progress,"
    " charge, prediction_id, output_url, video_url, error, logs, retry_of::text AS retry_of,"
    " created_at, completed_at, seq, fingerprint"
)
_OPEN = "('queued', 'starting', 'processing')"


def _generation(row) -> Generation:
    values = dict(row._mapping)
    values["status"] = Status(values["status"])
    return Generation(**values)


class GenerationRepository:
    def __init__(self, engine: AsyncEngine, lease: timedelta) -> None:
        self.engine = engine
        # One statement is its own transaction: no BEGIN / COMMIT round trips.
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.lease = lease

    async def _one(self, conn: AsyncConnection, where: str, params: dict) -> Generation | None:
        row = (await conn.execute(
            text(f"SELECT {_COLUMNS} FROM generation.generations WHERE {where}"), params
        )).first()
        return _generation(row) if row else None

    async def insert_or_get(self, values: dict) -> tuple[Generation, bool]:
        """Insert a queued generation leased to the caller, or return the key's existing one."""
        params = dict(values, provider_input=json.dumps(values["provider_input"]),
                      lease=self.lease)
        async with self._single.connect() as conn:
            row = (await conn.execute(text(
                "WITH new AS (INSERT INTO generation.generations (id, user_id,"
                " idempotency_key, fingerprint, model, resolution, prompt, negative_prompt,"
                " duration_s, seed, image_url, provider_model, provider_input, price, status,"
                " retry_of, lease_until)"
                " VALUES (:id, :user_id, :idempotency_key, :fingerprint, :model, :resolution,"
                " :prompt, :negative_prompt, :duration_s, :seed, :image_url, :provider_model,"
                " CAST(:provider_input AS jsonb), :price, 'queued', :retry_of, now() + :lease)"
                f" ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING {_COLUMNS})"
                " SELECT *, true AS created FROM new UNION ALL"
                f" SELECT {_COLUMNS}, false FROM generation.generations"
                " WHERE user_id = :user_id AND idempotency_key = :idempotency_key"
                " AND NOT EXISTS (SELECT 1 FROM new)"), params)).first()
        if row is None:  # the conflicting row was inserted by a transaction not yet visible
            async with self.engine.connect() as conn:
                gen = await self._one(conn, "user_id = :u AND idempotency_key = :k",
                                      {"u": values["user_id"], "k": values["idempotency_key"]})
            assert gen is not None
            return gen, False
        values_ = dict(row._mapping)
        created = values_.pop("created")
        values_["status"] = Status(values_["status"])
        return Generation(**values_), created

    async def get(self, generation_id: str) -> Generation | None:
        async with self.engine.connect() as conn:
            return await self._one(conn, "id = :id", {"id": generation_id})

    async def by_prediction(self, prediction_id: str) -> Generation | None:
        async with self.engine.connect() as conn:
            return await self._one(conn, "prediction_id = :p", {"p": prediction_id})

    async def list_for_user(self, user_id: str, before_seq: int | None,
                            limit: int) -> list[Generation]:
        where = "user_id = :u" + (" AND seq < :before" if before_seq is not None else "")
        async with self.engine.connect() as conn:
            rows = (await conn.execute(text(
                f"SELECT {_COLUMNS} FROM generation.generations WHERE {where}"
                " ORDER BY seq DESC LIMIT :n"),
                {"u": user_id, "before": before_seq, "n": limit})).all()
        return [_generation(r) for r in rows]

    async def update(self, generation_id: str, assignments: str, condition: str = "TRUE",
                     **params) -> Generation | None:
        """One guarded UPDATE; None when the condition no longer holds."""
        async with self._single.connect() as conn:
            row = (await conn.execute(text(
                f"UPDATE generation.generations SET {assignments}"
                f" WHERE id = :id AND ({condition}) RETURNING {_COLUMNS}"),
                dict(params, id=generation_id))).first()
        return _generation(row) if row else None

    async def apply(self, generation_id: str,
                    decide: Callable[[Generation], Changes | None],
                    poll_after: timedelta) -> tuple[Generation | None, Changes | None]:
        """Lock the row, let ``decide`` compute the change, write it; one transaction."""
        async with self.engine.begin() as conn:
            gen = await self._one(conn, "id = :id FOR UPDATE", {"id": generation_id})
            if gen is None:
                return None, None
            changes = decide(gen)
            if changes is None:
                await conn.execute(text(
                    "UPDATE generation.generations SET last_news_at = now() WHERE id = :id"
                    f" AND status IN {_OPEN}"), {"id": generation_id})
                return gen, None
            row = (await conn.execute(text(
                "UPDATE generation.generations SET status = :status, progress = :progress,"
                " logs = :logs, output_url = coalesce(:output_url, output_url),"
                " error = coalesce(:error, error), last_news_at = now(),"
                " next_poll_at = now() + :poll_after, poll_attempts = 0,"
                " completed_at = CASE WHEN :terminal THEN now() ELSE completed_at END"
                f" WHERE id = :id RETURNING {_COLUMNS}"),
                {"id": generation_id, "status": changes.status.value,
                 "progress": changes.progress, "logs": changes.logs,
                 "output_url": changes.output_url, "error": changes.error,
                 "terminal": changes.terminal, "poll_after": poll_after})).first()
        return _generation(row), changes

    async def claim(self, condition: str, limit: int, **params) -> list[Generation]:
        """Lease up to ``limit`` rows matching ``condition`` whose lease expired.

        SKIP LOCKED and the lease together keep replicas off each other's rows; the
        work itself happens after this commits, with no lock held.
        """
        async with self.engine.begin() as conn:
            rows = (await conn.execute(text(
                "UPDATE generation.generations SET lease_until = now() + :lease"
                " WHERE id IN (SELECT id FROM generation.generations"
                f"  WHERE ({condition}) AND (lease_until IS NULL OR lease_until < now())"
                "  ORDER BY seq LIMIT :n FOR UPDATE SKIP LOCKED)"
                f" RETURNING {_COLUMNS}"),
                dict(params, lease=self.lease, n=limit))).all()
        return [_generation(r) for r in rows]
