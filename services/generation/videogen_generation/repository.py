"""Every query of the generation schema, as named operations: the statements are built
here and nowhere else. Each public coroutine is one transaction.

Guards in the WHERE clauses make every write conditional on the state it expects, so a
write that lost a race changes nothing and returns None.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from videogen_common.contract import OPEN_GENERATION_STATUSES
from videogen_common.db import fetch_all, fetch_one, ping, psycopg_statement

from .domain import Changes, Charge, Generation, Status, Step

_FIELDS = (
    "id::text AS id",
    "user_id::text AS user_id",
    "model",
    "resolution",
    "prompt",
    "negative_prompt",
    "duration_s",
    "seed",
    "image_url",
    "provider_model",
    "provider_input",
    "price",
    "status",
    "progress",
    "charge",
    "prediction_id",
    "output_url",
    "video_url",
    "error",
    "logs",
    "retry_of::text AS retry_of",
    "created_at",
    "completed_at",
    "seq",
    "fingerprint",
    "copy_lost",
    "provider_missing",
)


def columns(alias: str = "") -> str:
    """The select list of a Generation, its columns qualified by ``alias`` when given."""
    return ", ".join(f"{alias}.{f}" if alias else f for f in _FIELDS)


_COLUMNS = columns()
_OPEN = "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN_GENERATION_STATUSES))
_AVAILABLE = (
    "(lease_until IS NULL OR lease_until < now())"
    " AND (recover_after IS NULL OR recover_after <= now())"
)
# What each kind of recovery work looks like (each has its own partial index).
_STEP_CONDITION = {
    Step.SETTLE: "(charge IN ('pending', 'reserved', 'charged')"
    " AND status IN ('failed', 'canceled', 'timed_out'))"
    " OR (charge IN ('pending', 'reserved') AND status = 'succeeded')",
    Step.CHARGE: "status = 'queued' AND charge = 'pending'",
    Step.SUBMIT: f"{_OPEN} AND charge IN ('reserved', 'charged') AND prediction_id IS NULL",
    # Backed off per row (back_off_poll); the age limit is judged once the provider
    # has been asked.
    Step.POLL: "status IN ('starting', 'processing') AND prediction_id IS NOT NULL"
    " AND next_poll_at <= now()",
    Step.COPY: "status = 'succeeded' AND video_url IS NULL AND NOT copy_lost",
}
RECOVERY_BACKOFF_MAX = timedelta(minutes=5)


@dataclass(frozen=True)
class Lease:
    """The right to take the next step of one generation, until someone else claims it."""

    generation_id: str
    token: str


@dataclass(frozen=True)
class CreateTurn:
    """Whether a create may be sent now (``wait`` is zero) and whether an earlier one,
    whose outcome was never learned, came before it (then look before sending)."""

    generation: Generation
    wait: timedelta
    after_unknown: bool


def generation_from(values: dict) -> Generation:
    values.pop("created", None)
    values["status"] = Status(values["status"])
    values["charge"] = Charge(values["charge"])
    return Generation(**values)


class GenerationRepository:
    def __init__(self, pool: AsyncConnectionPool, lease: timedelta) -> None:
        # Every statement goes through psycopg's own pool, in autocommit (one statement
        # is its own transaction: no BEGIN / COMMIT round trips); only apply() opens a
        # transaction. SQLAlchemy's layer cost 0.36 ms of CPU per statement against
        # psycopg's 0.11 ms, and its import ~24 MB of the process's memory.
        self.pool = pool
        self.lease = lease

    async def _row(self, statement: str, params: dict) -> dict | None:
        """One statement in autocommit through the pool; its first row as a dict."""
        async with self.pool.connection() as conn:
            return await fetch_one(conn, statement, params)

    async def _rows(self, statement: str, params: dict) -> list[dict]:
        async with self.pool.connection() as conn:
            return await fetch_all(conn, statement, params)

    async def open(self) -> None:
        """In the background: a database down at start does not stop the service."""
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> None:
        await ping(self.pool)

    async def _one(self, where: str, params: dict) -> Generation | None:
        row = await self._row(
            f"SELECT {_COLUMNS} FROM generation.generations WHERE {where}", params
        )
        return generation_from(row) if row else None

    def _list(self, rows: list[dict]) -> list[Generation]:
        return [generation_from(row) for row in rows]

    async def _update(
        self, generation_id: str, assignments: str, condition: str = "TRUE", **params
    ) -> Generation | None:
        """One guarded UPDATE; None when the condition no longer holds."""
        row = await self._row(
            f"UPDATE generation.generations SET {assignments}"
            f" WHERE id = :id AND ({condition}) RETURNING {_COLUMNS}",
            dict(params, id=generation_id),
        )
        return generation_from(row) if row else None

    # ------------------------------------------------------------------ reads

    async def get(self, generation_id: str) -> Generation | None:
        return await self._one("id = :id", {"id": generation_id})

    async def by_prediction(self, prediction_id: str) -> Generation | None:
        return await self._one("prediction_id = :p", {"p": prediction_id})

    async def list_for_user(
        self, user_id: str, before_seq: int | None, limit: int
    ) -> list[Generation]:
        where = "user_id = :u" + (" AND seq < :before" if before_seq is not None else "")
        rows = await self._rows(
            f"SELECT {_COLUMNS} FROM generation.generations WHERE {where}"
            " ORDER BY seq DESC LIMIT :n",
            {"u": user_id, "before": before_seq, "n": limit},
        )
        return self._list(rows)

    # ------------------------------------------------------------------ creation

    async def insert_or_get(self, values: dict) -> tuple[Generation, Lease | None]:
        """Insert a queued generation leased to the caller (the lease is returned), or
        return the key's existing one (no lease)."""
        token = str(uuid.uuid4())
        params = dict(
            values,
            provider_input=json.dumps(values["provider_input"]),
            lease=self.lease,
            token=token,
        )
        row = await self._row(
            "WITH new AS (INSERT INTO generation.generations (id, user_id,"
            " idempotency_key, fingerprint, model, resolution, prompt, negative_prompt,"
            " duration_s, seed, image_url, provider_model, provider_input, price, status,"
            " retry_of, lease_until, lease_owner)"
            " VALUES (:id, :user_id, :idempotency_key, :fingerprint, :model, :resolution,"
            " :prompt, :negative_prompt, :duration_s, :seed, :image_url, :provider_model,"
            " CAST(:provider_input AS jsonb), :price, 'queued', :retry_of, now() + :lease,"
            " :token)"
            f" ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING {_COLUMNS})"
            " SELECT *, true AS created FROM new UNION ALL"
            f" SELECT {_COLUMNS}, false FROM generation.generations"
            " WHERE user_id = :user_id AND idempotency_key = :idempotency_key"
            " AND NOT EXISTS (SELECT 1 FROM new)",
            params,
        )
        if row is None:  # the conflicting row was inserted by a transaction not yet visible
            gen = await self._one(
                "user_id = :u AND idempotency_key = :k",
                {"u": values["user_id"], "k": values["idempotency_key"]},
            )
            assert gen is not None
            return gen, None
        created = row.pop("created")
        gen = generation_from(row)
        return gen, Lease(gen.id, token) if created else None

    # ------------------------------------------------------------------ money

    async def mark_reserved(self, generation_id: str) -> Generation | None:
        return await self._update(generation_id, "charge = 'reserved'", "charge = 'pending'")

    async def mark_captured(self, generation_id: str) -> Generation | None:
        return await self._update(generation_id, "charge = 'captured'", "charge = 'reserved'")

    async def mark_released(self, generation_id: str) -> Generation | None:
        return await self._update(generation_id, "charge = 'released'", "charge = 'reserved'")

    async def mark_charged(self, generation_id: str) -> Generation | None:
        """Charged at once: a row from before holds, or a delivered video whose hold
        had timed out."""
        return await self._update(
            generation_id, "charge = 'charged'", "charge IN ('pending', 'reserved')"
        )

    async def mark_never_charged(self, generation_id: str) -> Generation | None:
        return await self._update(generation_id, "charge = 'none'", "charge = 'pending'")

    async def mark_unpaid(self, generation_id: str) -> Generation | None:
        """A delivered video nothing could be charged for (logged and counted)."""
        return await self._update(generation_id, "charge = 'released'", "charge = 'reserved'")

    async def reject(self, generation_id: str, error: str) -> Generation | None:
        """Short of credits before anything was submitted."""
        return await self._update(
            generation_id,
            "status = 'rejected', charge = 'none', error = :e,"
            " completed_at = now(), lease_until = NULL, lease_owner = NULL",
            "status = 'queued' AND charge = 'pending'",
            e=error,
        )

    async def mark_refunded(self, generation_id: str, refunded: bool) -> Generation | None:
        """The refund landed (or there was never a charge to give back)."""
        return await self._update(
            generation_id,
            "charge = :c",
            "charge IN ('pending', 'charged')",
            c=(Charge.REFUNDED if refunded else Charge.NONE).value,
        )

    # ------------------------------------------------------------------ the provider

    async def store_prediction(
        self, generation_id: str, prediction_id: str, poll_after: timedelta
    ) -> Generation | None:
        """Record the job; None when another prediction was stored first."""
        return await self._update(
            generation_id,
            "prediction_id = :p, submitted_at = now(), last_news_at = now(),"
            " status = CASE WHEN status = 'queued' THEN 'starting' ELSE status END,"
            " next_poll_at = now() + :poll, lease_until = NULL, lease_owner = NULL",
            "prediction_id IS NULL",
            p=prediction_id,
            poll=poll_after,
        )

    async def apply(
        self,
        generation_id: str,
        decide: Callable[[Generation], Changes | None],
        poll_after: timedelta,
    ) -> tuple[Generation | None, Changes | None]:
        """Lock the row, let ``decide`` compute the change, write it; one transaction."""
        async with self.pool.connection() as conn, conn.transaction():
            return await self._apply(conn, generation_id, decide, poll_after)

    @staticmethod
    async def _apply(
        conn: AsyncConnection,
        generation_id: str,
        decide: Callable[[Generation], Changes | None],
        poll_after: timedelta,
    ) -> tuple[Generation | None, Changes | None]:
        found = await fetch_one(
            conn,
            f"SELECT {_COLUMNS} FROM generation.generations WHERE id = :id FOR UPDATE",
            {"id": generation_id},
        )
        if found is None:
            return None, None
        gen = generation_from(found)
        changes = decide(gen)
        if changes is None:
            await conn.execute(
                psycopg_statement(
                    "UPDATE generation.generations SET last_news_at = now(),"
                    f" provider_missing = 0 WHERE id = :id AND {_OPEN}"
                ),
                {"id": generation_id},
            )
            return gen, None
        row = await fetch_one(
            conn,
            "UPDATE generation.generations SET status = :status, progress = :progress,"
            " logs = :logs, output_url = coalesce(:output_url, output_url),"
            " error = coalesce(:error, error), last_news_at = now(),"
            " next_poll_at = now() + :poll_after, poll_attempts = 0, provider_missing = 0,"
            " completed_at = CASE WHEN :terminal THEN now() ELSE completed_at END"
            f" WHERE id = :id RETURNING {_COLUMNS}",
            {
                "id": generation_id,
                "status": changes.status.value,
                "progress": changes.progress,
                "logs": changes.logs,
                "output_url": changes.output_url,
                "error": changes.error,
                "terminal": changes.terminal,
                "poll_after": poll_after,
            },
        )
        assert row is not None  # the row is locked: it is still there
        return generation_from(row), changes

    async def end(self, generation_id: str, status: Status, error: str) -> Generation | None:
        """An open generation ends (failed, canceled, timed out) without provider news."""
        assert status.terminal
        return await self._end(generation_id, status, error, _OPEN)

    async def end_canceled(
        self, generation_id: str, prediction_id: str | None
    ) -> Generation | None:
        """Canceled by the user, only while the row's job is still ``prediction_id`` (None:
        no job): a job stored since the caller read the row must be stopped first."""
        return await self._end(
            generation_id,
            Status.CANCELED,
            "canceled by the user",
            f"{_OPEN} AND prediction_id IS NOT DISTINCT FROM :p",
            p=prediction_id,
        )

    async def _end(
        self, generation_id: str, status: Status, error: str, condition: str, **params
    ) -> Generation | None:
        return await self._update(
            generation_id,
            "status = :s, error = :e, completed_at = now(), lease_until = NULL, lease_owner = NULL",
            condition,
            s=status.value,
            e=error[:2000],
            **params,
        )

    async def back_off_poll(
        self, generation_id: str, base: timedelta, cap: timedelta, missing: bool
    ) -> None:
        """No news: poll less and less often, up to a bound, until the age limit. A "not
        found" is an answer, not silence: asked again at the base pace, so a job the
        provider forgot (its restart, an emulator's) is given up within a few polls."""
        await self._update(
            generation_id,
            "poll_attempts = poll_attempts + 1, next_poll_at = now() + CASE WHEN :missing"
            " THEN :base ELSE least(:base * power(2, least(poll_attempts, 20)), :cap) END,"
            " provider_missing = CASE WHEN :missing THEN provider_missing + 1 ELSE 0 END",
            _OPEN,
            base=base,
            cap=cap,
            missing=missing,
        )

    # ------------------------------------------------------------------ our copy

    async def store_video(self, generation_id: str, url: str) -> Generation | None:
        return await self._update(generation_id, "video_url = :u", "video_url IS NULL", u=url)

    async def copy_failed(self, generation_id: str, attempts_max: int) -> Generation | None:
        """Count a failed copy; past the bound, keep the provider's URL and say so."""
        return await self._update(
            generation_id,
            "copy_attempts = copy_attempts + 1,"
            " copy_lost = copy_attempts + 1 >= :n,"
            " video_url = CASE WHEN copy_attempts + 1 >= :n THEN output_url END",
            "video_url IS NULL AND NOT copy_lost",
            n=attempts_max,
        )

    async def get_any(self, generation_id: str) -> Generation | None:
        """A generation by id, whoever owns it (None for a malformed or unknown id)."""
        try:
            uuid.UUID(generation_id)
        except ValueError:
            return None
        return await self.get(generation_id)

    async def open_older_than(self, age: timedelta, limit: int) -> list[Generation]:
        rows = await self._rows(
            f"SELECT {_COLUMNS} FROM generation.generations WHERE {_OPEN}"
            " AND created_at <= now() - :age ORDER BY created_at LIMIT :n",
            {"age": age, "n": limit},
        )
        return self._list(rows)

    async def changes(self, generation_id: str) -> list[tuple]:
        """(event id, status, progress, charge, at) of each logged change, oldest first."""
        async with self.pool.connection() as conn:
            return await fetch_all(
                conn,
                "SELECT id, status, progress, charge, created_at FROM generation.events"
                " WHERE generation_id = :g ORDER BY id",
                {"g": generation_id},
                tuple_row,
            )

    async def oldest_open_age_s(self) -> float:
        """Seconds since the oldest unfinished generation was created (0: none)."""
        row = await self._row(
            "SELECT extract(epoch FROM now() - min(created_at)) AS age"
            f" FROM generation.generations WHERE {_OPEN}",
            {},
        )
        return float((row or {}).get("age") or 0.0)

    async def copy_refused(self, generation_id: str) -> Generation | None:
        """An output URL we will not fetch: lost at once, and its URL never shown."""
        return await self._update(
            generation_id, "copy_lost = true", "video_url IS NULL AND NOT copy_lost"
        )

    # ------------------------------------------------------------------ leases

    async def claim_next(
        self, step: Step, skip: list[str] | None = None
    ) -> tuple[Generation, Lease] | None:
        """Lease the oldest row needing ``step`` that nobody holds (and not in ``skip``:
        rows already worked on in this pass), or None.

        One row at a time: the lease covers one piece of work, never a queue of them.
        SKIP LOCKED and the lease together keep replicas off each other's rows.
        """
        token = str(uuid.uuid4())
        row = await self._row(
            "UPDATE generation.generations SET lease_until = now() + :lease,"
            " lease_owner = :token WHERE id = (SELECT id FROM generation.generations"
            f"  WHERE ({_STEP_CONDITION[step]}) AND {_AVAILABLE}"
            "  AND id <> ALL(CAST(:skip AS uuid[]))"
            "  ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            {"lease": self.lease, "token": token, "skip": skip or []},
        )
        if row is None:
            return None
        gen = generation_from(row)
        return gen, Lease(gen.id, token)

    async def begin_create(self, lease: Lease, settle: timedelta) -> CreateTurn | None:
        """Renew the lease and note that a create is being sent, unless an earlier one,
        whose outcome is unknown, was sent less than ``settle`` ago: it may still land,
        so nothing is noted and the turn says how long to wait. None: the lease is lost.

        The window is judged by the database's clock alone, the one that wrote it.
        """
        row = await self._row(
            "UPDATE generation.generations g SET lease_until = now() + :lease,"
            " create_sent_at = CASE WHEN old.sent IS NULL"
            "  OR old.sent <= now() - :settle THEN now() ELSE old.sent END"
            " FROM (SELECT id, create_sent_at AS sent FROM generation.generations"
            "  WHERE id = :id AND lease_owner = :token FOR UPDATE) old"
            f" WHERE g.id = old.id RETURNING {columns('g')},"
            " old.sent IS NOT NULL AS after_unknown,"
            " CASE WHEN old.sent IS NULL OR old.sent <= now() - :settle THEN 0.0"
            "  ELSE extract(epoch FROM old.sent + :settle - now()) END AS wait_s",
            {
                "id": lease.generation_id,
                "token": lease.token,
                "lease": self.lease,
                "settle": settle,
            },
        )
        if row is None:
            return None
        after_unknown, wait_s = row.pop("after_unknown"), float(row.pop("wait_s"))
        return CreateTurn(generation_from(row), timedelta(seconds=wait_s), after_unknown)

    async def unknown_create_wait(self, generation_id: str, settle: timedelta) -> timedelta | None:
        """How long the last create, whose outcome is unknown, may still land (zero once
        it cannot); None when no create is unaccounted for."""
        row = await self._row(
            "SELECT greatest(extract(epoch FROM create_sent_at + :settle - now()), 0) AS wait_s"
            " FROM generation.generations WHERE id = :id"
            " AND create_sent_at IS NOT NULL AND prediction_id IS NULL",
            {"id": generation_id, "settle": settle},
        )
        return None if row is None else timedelta(seconds=float(row["wait_s"]))

    async def create_not_recorded(self, lease: Lease) -> None:
        """The provider answered that the create was not recorded: its outcome is known."""
        await self._update(
            lease.generation_id,
            "create_sent_at = NULL",
            "lease_owner = :token",
            token=lease.token,
        )

    async def defer(self, lease: Lease, wait: timedelta) -> None:
        """Give the row back, not to be taken again before ``wait`` has passed."""
        await self._update(
            lease.generation_id,
            "lease_until = NULL, lease_owner = NULL, recover_after = now() + :wait",
            "lease_owner = :token",
            token=lease.token,
            wait=wait,
        )

    async def release(
        self, lease: Lease, *, failed: bool = False, backoff_base: timedelta = timedelta(seconds=1)
    ) -> None:
        """Give the row back. After a failed step, it waits longer each time before
        recovery tries it again, so a row that cannot progress never blocks others."""
        if failed:
            await self._update(
                lease.generation_id,
                "lease_until = NULL, lease_owner = NULL,"
                " recovery_failures = recovery_failures + 1, recover_after = now() + least("
                ":base * power(2, least(recovery_failures, 20)), :cap)",
                "lease_owner = :token",
                token=lease.token,
                base=backoff_base,
                cap=RECOVERY_BACKOFF_MAX,
            )
        else:
            await self._update(
                lease.generation_id,
                "lease_until = NULL, lease_owner = NULL,"
                " recovery_failures = 0, recover_after = NULL",
                "lease_owner = :token",
                token=lease.token,
            )
