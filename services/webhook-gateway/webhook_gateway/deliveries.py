"""Which webhook ids were processed, across replicas and restarts."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


class Deliveries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def seen(self, source: str, webhook_id: str) -> bool:
        async with self.engine.connect() as conn:
            row = await conn.execute(text(
                "SELECT 1 FROM webhook_gateway.deliveries WHERE source = :s AND webhook_id = :w"),
                {"s": source, "w": webhook_id})
            return row.first() is not None

    async def record(self, source: str, webhook_id: str) -> None:
        """After the effect is durable downstream; a failure before this means the sender
        retries, and the downstream update is itself idempotent."""
        async with self.engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO webhook_gateway.deliveries (source, webhook_id) VALUES (:s, :w)"
                " ON CONFLICT DO NOTHING"), {"s": source, "w": webhook_id})
