"""The ledger's use cases: validate, authorize, apply through group commit, explain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from videogen_common import wire
from videogen_common.contract import PAGE_SIZE_DEFAULT
from videogen_common.errors import FieldViolation, InvalidArgument, Unavailable

from . import policy
from .domain import (
    ACTOR_LENGTH_MAX,
    ADDABLE_KINDS,
    DEFAULT_PRIORITY,
    GRANTABLE_SOURCES,
    KIND_OF_SOURCE,
    REFERENCE_LENGTH_MAX,
    TEXT_LENGTH_MAX,
    Account,
    Applied,
    Drift,
    Entry,
    Grant,
    Hold,
    Kind,
    Mutation,
    Op,
    Source,
    unknown_account,
)
from .group_commit import GroupCommitter
from .metrics import DRIFT, MOVED
from .mutations_store import MutationStore, Outcome
from .outcomes import settle
from .repository import LedgerRepository
from .rules import Rules, raise_if

PAGE_SIZE_MAX = 200
PAGE_KIND = "e"


@dataclass(frozen=True)
class LedgerConfig:
    signup_grant: int
    low_balance_threshold: int
    amount_max: int
    batch_max: int
    batches_in_flight_max: int
    queue_max: int
    hold_timeout_default_s: int = 3 * 3600
    hold_timeout_max_s: int = 24 * 3600


class Ledger:
    def __init__(
        self, repo: LedgerRepository, mutations: MutationStore, config: LedgerConfig
    ) -> None:
        self._repo = repo
        self._mutations = mutations
        self.config = config
        self.rules = Rules(config.amount_max)
        self._committer: GroupCommitter[Mutation, Outcome] = GroupCommitter(
            self._execute,
            batch_max=config.batch_max,
            batches_in_flight_max=config.batches_in_flight_max,
            queue_max=config.queue_max,
        )

    def is_low(self, available: int, unlimited: bool = False) -> bool:
        return not unlimited and available < self.config.low_balance_threshold

    async def _execute(self, items: Sequence[Mutation]) -> list[Outcome]:
        # Rows are locked in user order in every batch, so concurrent batches wait for
        # each other instead of deadlocking.
        order = sorted(range(len(items)), key=lambda i: items[i].user_id or "")
        outcomes = await self._mutations.apply_batch([items[i] for i in order])
        result: list[Outcome | None] = [None] * len(items)
        for position, index in enumerate(order):
            result[index] = outcomes[position]
        return result  # type: ignore[return-value]

    async def apply(self, mutation: Mutation) -> Applied:
        if self._committer.queue_full():
            raise Unavailable(
                "credits service is overloaded; retry with backoff", reason="OVERLOADED"
            )
        outcome = await self._committer.submit(mutation)
        applied = settle(outcome, mutation)
        entry = applied.entry
        if entry is not None and not applied.replayed and entry.amount:
            direction = "in" if entry.amount > 0 else "out"
            MOVED.labels(entry.kind.value, direction).inc(abs(entry.amount))
        return applied

    def user(self, user_id: str, found: list[FieldViolation]) -> str:
        return self.rules.user_id(user_id, found)

    def _reference(
        self, value: str, found: list[FieldViolation], *, required: bool, name: str = "reference"
    ) -> None:
        self.rules.text(name, value, found, length_max=REFERENCE_LENGTH_MAX, required=required)

    def _free_text(
        self, name: str, value: str, found: list[FieldViolation], required: bool = False
    ) -> None:
        self.rules.text(name, value, found, length_max=TEXT_LENGTH_MAX, required=required)

    async def ensure_account(self, user_id: str) -> tuple[Account, bool]:
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        raise_if(found)
        return await self._repo.ensure_account(user_id, self.config.signup_grant)

    async def get_account(self, user_id: str) -> Account:
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        raise_if(found)
        account = await self._repo.get_account(user_id)
        if account is None:
            raise unknown_account(user_id)
        return account

    async def deduct(
        self, user_id: str, amount: int, reference: str, key: str, description: str, actor: str
    ) -> Applied:
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        self.rules.amount(amount, found)
        self._reference(reference, found, required=True)
        self.rules.key(key, found)
        self._free_text("description", description, found)
        raise_if(found)
        return await self.apply(
            Mutation(Op.TAKE, user_id, amount, Kind.USAGE, reference, key, description, actor)
        )

    async def add(
        self,
        caller: str,
        user_id: str,
        amount: int,
        kind: Kind | None,
        key: str,
        description: str,
        actor: str,
        reference: str,
    ) -> Applied:
        """The older Add: a purchase, an admin grant or an adjustment (either sign)."""
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        if kind not in ADDABLE_KINDS:
            names = ", ".join(sorted(k.value for k in ADDABLE_KINDS))
            found.append(FieldViolation("kind", f"must be one of {names}"))
        adjustment = kind is Kind.ADMIN_ADJUSTMENT
        self.rules.amount(amount, found, signed=adjustment)
        self.rules.key(key, found)
        self._free_text("description", description, found, required=adjustment)
        self.rules.text("actor", actor, found, length_max=ACTOR_LENGTH_MAX, required=adjustment)
        self._reference(reference, found, required=False)
        raise_if(found)
        assert kind is not None
        policy.authorize_add(caller, kind)
        if adjustment and amount < 0:
            return await self.apply(
                Mutation(
                    Op.TAKE, user_id, -amount, kind, reference, key, description, actor or caller
                )
            )
        source = Source.PURCHASE if kind is Kind.PURCHASE else Source.ADMIN
        return await self.apply(
            Mutation(
                Op.GRANT,
                user_id,
                amount,
                kind,
                reference,
                key,
                description,
                actor or caller,
                source=source,
                priority=DEFAULT_PRIORITY[source],
            )
        )

    async def grant(
        self,
        caller: str,
        user_id: str,
        amount: int,
        source: Source | None,
        expires_at: datetime | None,
        priority: int | None,
        reference: str,
        key: str,
        description: str,
        actor: str,
    ) -> Applied:
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        if source not in GRANTABLE_SOURCES:
            names = ", ".join(sorted(s.value for s in GRANTABLE_SOURCES))
            found.append(FieldViolation("source", f"must be one of {names}"))
        self.rules.amount(amount, found)
        self.rules.future("expires_at", expires_at, found)
        self.rules.priority(priority, found)
        self._reference(reference, found, required=source in (Source.PURCHASE, Source.SUBSCRIPTION))
        self.rules.key(key, found)
        self._free_text("description", description, found)
        self.rules.text("actor", actor, found, length_max=ACTOR_LENGTH_MAX, required=False)
        raise_if(found)
        assert source is not None
        policy.authorize_grant(caller, source)
        return await self.apply(
            Mutation(
                Op.GRANT,
                user_id,
                amount,
                KIND_OF_SOURCE[source],
                reference,
                key,
                description,
                actor or caller,
                source=source,
                expires_at=expires_at,
                priority=DEFAULT_PRIORITY[source] if priority is None else priority,
            )
        )

    async def refund(self, reference: str, key: str, reason: str, actor: str) -> Applied:
        found: list[FieldViolation] = []
        self._reference(reference, found, required=True)
        self.rules.key(key, found)
        self._free_text("reason", reason, found)
        raise_if(found)
        return await self.apply(
            Mutation(Op.REFUND, None, 0, Kind.REFUND, reference, key, reason, actor)
        )

    async def reserve(
        self, user_id: str, amount: int, reference: str, key: str, timeout_s: int
    ) -> Applied:
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        self.rules.amount(amount, found)
        self._reference(reference, found, required=True)
        self.rules.key(key, found)
        if not 0 <= timeout_s <= self.config.hold_timeout_max_s:
            found.append(
                FieldViolation(
                    "timeout_s", f"must be between 0 and {self.config.hold_timeout_max_s}"
                )
            )
        raise_if(found)
        timeout_s = timeout_s or self.config.hold_timeout_default_s
        return await self.apply(
            Mutation(
                Op.RESERVE, user_id, amount, Kind.USAGE, reference, key, "", "", timeout_s=timeout_s
            )
        )

    async def capture(
        self, reference: str, amount: int, key: str, description: str, actor: str
    ) -> Applied:
        found: list[FieldViolation] = []
        self._reference(reference, found, required=True)
        if amount < 0 or amount > self.config.amount_max:
            found.append(
                FieldViolation("amount", f"must be between 0 and {self.config.amount_max}")
            )
        self.rules.key(key, found)
        self._free_text("description", description, found)
        raise_if(found)
        return await self.apply(
            Mutation(Op.CAPTURE, None, amount, Kind.USAGE, reference, key, description, actor)
        )

    async def release(self, reference: str, key: str, reason: str, actor: str) -> Applied:
        found: list[FieldViolation] = []
        self._reference(reference, found, required=True)
        self.rules.key(key, found)
        self._free_text("reason", reason, found)
        raise_if(found)
        return await self.apply(
            Mutation(Op.RELEASE, None, 0, Kind.USAGE, reference, key, reason, actor)
        )

    async def list_entries(
        self, user_id: str, page_size: int, page_token: str, kinds: Sequence[Kind], reference: str
    ) -> tuple[list[Entry], str]:
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        if not 0 <= page_size <= PAGE_SIZE_MAX:
            found.append(FieldViolation("page_size", f"must be between 0 and {PAGE_SIZE_MAX}"))
        before_id = decode_page_token(page_token, found)
        self._reference(reference, found, required=False)
        raise_if(found)
        await self.get_account(user_id)
        size = page_size or PAGE_SIZE_DEFAULT
        entries = await self._repo.list_entries(
            user_id, before_id=before_id, limit=size + 1, kinds=kinds, reference=reference
        )
        if len(entries) <= size:
            return entries, ""
        return entries[:size], wire.encode_page_token(PAGE_KIND, entries[size - 1].id)

    async def entries_after(self, user_id: str, after_id: int, limit: int) -> list[Entry]:
        """The user's entries after ``after_id``, oldest first (for watchers resuming)."""
        return await self._repo.entries_after(user_id, after_id, limit)

    async def grants(self, user_id: str, include_spent: bool) -> tuple[list[Grant], list[Hold]]:
        account = await self.get_account(user_id)
        return await self._repo.grants(account.user_id, include_spent)

    async def set_plan(
        self, user_id: str, plan: str, period_end: datetime | None = None
    ) -> Account:
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        self.rules.text("plan", plan, found, length_max=32, required=True)
        raise_if(found)
        if not await self._repo.plan_exists(plan):
            raise InvalidArgument.of(FieldViolation("plan", f"unknown plan {plan!r}"))
        account = await self._repo.set_plan(user_id, plan, period_end)
        if account is None:
            raise unknown_account(user_id)
        return account

    async def reconcile(self, user_id: str) -> tuple[int, list[Drift]]:
        if not user_id:
            checked, drifts = await self._repo.reconcile(None)
            DRIFT.set(len(drifts))  # what the LedgerDrift alert watches
            return checked, drifts
        found: list[FieldViolation] = []
        user_id = self.user(user_id, found)
        raise_if(found)
        return await self._repo.reconcile(user_id)

    async def sweep(self, function: str, limit: int) -> int:
        """One batch of a sweep (expire_due, release_due_holds): how many it settled."""
        return await self._mutations.sweep(function, limit)

    async def close(self) -> None:
        await self._committer.drain()


def decode_page_token(token: str, found: list[FieldViolation]) -> int | None:
    try:
        return wire.decode_page_token(PAGE_KIND, token)
    except ValueError:
        found.append(FieldViolation("page_token", "is not a token from a previous page"))
        return None
