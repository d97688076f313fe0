"""Balance changes from every replica: credits.apply_one notifies on ``credits_balance``
inside the writing transaction (see migration 0002)."""

from __future__ import annotations

from dataclasses import dataclass

from videogen_common.pg_listen import RESYNC, Listener

from .domain import Kind

CHANNEL = "credits_balance"
__all__ = ["RESYNC", "BalanceChange", "BalanceFeed", "parse"]


@dataclass(frozen=True)
class BalanceChange:
    user_id: str
    balance: int
    entry_id: int
    kind: Kind | None  # None: a hold opened or ended (no entry)
    amount: int


def parse(payload: str) -> tuple[str, BalanceChange]:
    user_id, balance, entry_id, kind, amount = payload.split(",")
    change = BalanceChange(
        user_id, int(balance), int(entry_id), None if kind == "hold" else Kind(kind), int(amount)
    )
    return user_id, change


class BalanceFeed(Listener[BalanceChange]):
    def __init__(self, libpq_url: str) -> None:
        super().__init__(libpq_url, CHANNEL, parse)
