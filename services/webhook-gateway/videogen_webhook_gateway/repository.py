"""Which webhook ids were processed, across replicas and restarts.

Two single-statement queries per webhook on the gateway's hot path: psycopg's own pool
in autocommit (no BEGIN / COMMIT round trips, no ORM layer), measured by `make bench`.
"""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

SEEN = "SELECT 1 FROM webhook_gateway.deliveries WHERE source = %s AND webhook_id = %s"
RECORD = (
    "INSERT INTO webhook_gateway.deliveries (source, webhook_id) VALUES (%s, %s)"
    " ON CONFLICT DO NOTHING"
)


class Deliveries:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    async def seen(self, source: str, webhook_id: str) -> bool:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(SEEN, (source, webhook_id))
            return await cursor.fetchone() is not None

    async def record(self, source: str, webhook_id: str) -> None:
        """After the effect is durable downstream; a failure before this means the sender
        retries, and the downstream update is itself idempotent."""
        async with self.pool.connection() as conn:
            await conn.execute(RECORD, (source, webhook_id))

    async def close(self) -> None:
        await self.pool.close()
