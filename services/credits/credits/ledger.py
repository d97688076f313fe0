"""The ledger's use cases: validate, authorize, apply through group commit, explain."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from videogen_common import wire
from videogen_common.errors import FieldViolation, InvalidArgument, Unavailable

from . import policy
from .domain import (
    ACTOR_LENGTH_MAX,
    REFERENCE_LENGTH_MAX,
    TEXT_LENGTH_MAX,
    ADDABLE_KINDS,
    Account,
    AlreadyRefunded,
    Applied,
    ChargeNotFound,
    Drift,
    Entry,
    IdempotencyKeyReused,
    InsufficientCredits,
    Kind,
    Mutation,
    Op,
    ReferenceAlreadyCharged,
    Rules,
    raise_if,
    unknown_account,
)
from .group_commit import GroupCommitter
from .mutations_store import MutationStore, Outcome
from .repository import LedgerRepository

PAGE_SIZE_DEFAULT = 50
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


class Ledger:
    def __init__(self, repo: LedgerRepository, mutations: MutationStore,
                 config: LedgerConfig) -> None:
        self._repo = repo
        self._mutations = mutations
        self.config = config
        self._rules = Rules(config.amount_max)
        self._committer: GroupCommitter[Mutation, Outcome] = GroupCommitter(
            self._execute,
            batch_max=config.batch_max,
            batches_in_flight_max=config.batches_in_flight_max,
            queue_max=config.queue_max,
        )

    def is_low(self, account_balance: int, unlimited: bool = False) -> bool:
        return not unlimited and account_balance < self.config.low_balance_threshold

    async def _execute(self, items: Sequence[Mutation]) -> list[Outcome]:
        # Rows are locked in user order in every batch, so concurrent batches wait for
        # each other instead of deadlocking.
        order = sorted(range(len(items)), key=lambda i: items[i].user_id or "")
        outcomes = await self._mutations.apply_batch([items[i] for i in order])
        result: list[Outcome | None] = [None] * len(items)
        for position, index in enumerate(order):
            result[index] = outcomes[position]
        return result  # type: ignore[return-value]

    async def _apply(self, mutation: Mutation) -> Applied:
        if self._committer.queue_full():
            raise Unavailable("credits service is overloaded; retry with backoff",
                              reason="OVERLOADED")
        outcome = await self._committer.submit(mutation)
        return settle(outcome, mutation)

    def _user(self, user_id: str, found: list[FieldViolation]) -> str:
        return self._rules.user_id(user_id, found)

    async def ensure_account(self, user_id: str) -> tuple[Account, bool]:
        found: list[FieldViolation] = []
        user_id = self._user(user_id, found)
        raise_if(found)
        return await self._repo.ensure_account(user_id, self.config.signup_grant)

    async def get_account(self, user_id: str) -> Account:
        found: list[FieldViolation] = []
        user_id = self._user(user_id, found)
        raise_if(found)
        account = await self._repo.get_account(user_id)
        if account is None:
            raise unknown_account(user_id)
        return account

    async def deduct(self, user_id: str, amount: int, reference: str, key: str,
                     description: str, actor: str) -> Applied:
        found: list[FieldViolation] = []
        user_id = self._user(user_id, found)
        self._rules.amount(amount, found)
        self._rules.text("reference", reference, found, length_max=REFERENCE_LENGTH_MAX,
                         required=True)
        self._rules.key(key, found)
        self._rules.text("description", description, found, length_max=TEXT_LENGTH_MAX,
                         required=False)
        raise_if(found)
        return await self._apply(Mutation(Op.DEDUCT, user_id, amount, Kind.USAGE, reference,
                                          key, description, actor))

    async def add(self, caller: str, user_id: str, amount: int, kind: Kind | None, key: str,
                  description: str, actor: str, reference: str) -> Applied:
        found: list[FieldViolation] = []
        user_id = self._user(user_id, found)
        if kind not in ADDABLE_KINDS:
            names = ", ".join(sorted(k.value for k in ADDABLE_KINDS))
            found.append(FieldViolation("kind", f"must be one of {names}"))
        adjustment = kind is Kind.ADMIN_ADJUSTMENT
        self._rules.amount(amount, found, signed=adjustment)
        self._rules.key(key, found)
        self._rules.text("description", description, found, length_max=TEXT_LENGTH_MAX,
                         required=adjustment)
        self._rules.text("actor", actor, found, length_max=ACTOR_LENGTH_MAX,
                         required=adjustment)
        self._rules.text("reference", reference, found, length_max=REFERENCE_LENGTH_MAX,
                         required=False)
        raise_if(found)
        assert kind is not None
        policy.authorize_add(caller, kind)
        return await self._apply(Mutation(Op.ADD, user_id, amount, kind, reference, key,
                                          description, actor or caller))

    async def refund(self, reference: str, key: str, reason: str, actor: str) -> Applied:
        found: list[FieldViolation] = []
        self._rules.text("reference", reference, found, length_max=REFERENCE_LENGTH_MAX,
                         required=True)
        self._rules.key(key, found)
        self._rules.text("reason", reason, found, length_max=TEXT_LENGTH_MAX, required=False)
        raise_if(found)
        return await self._apply(Mutation(Op.REFUND, None, 0, Kind.REFUND, reference, key,
                                          reason, actor))

    async def list_entries(self, user_id: str, page_size: int, page_token: str,
                           kinds: Sequence[Kind], reference: str) -> tuple[list[Entry], str]:
        found: list[FieldViolation] = []
        user_id = self._user(user_id, found)
        if not 0 <= page_size <= PAGE_SIZE_MAX:
            found.append(FieldViolation("page_size", f"must be between 0 and {PAGE_SIZE_MAX}"))
        before_id = decode_page_token(page_token, found)
        self._rules.text("reference", reference, found, length_max=REFERENCE_LENGTH_MAX,
                         required=False)
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

    async def set_plan(self, user_id: str, plan: str) -> Account:
        found: list[FieldViolation] = []
        user_id = self._user(user_id, found)
        self._rules.text("plan", plan, found, length_max=32, required=True)
        raise_if(found)
        if not await self._repo.plan_exists(plan):
            raise InvalidArgument.of(FieldViolation("plan", f"unknown plan {plan!r}"))
        account = await self._repo.set_plan(user_id, plan)
        if account is None:
            raise unknown_account(user_id)
        return account

    async def reconcile(self, user_id: str) -> tuple[int, list[Drift]]:
        if not user_id:
            return await self._repo.reconcile(None)
        found: list[FieldViolation] = []
        user_id = self._user(user_id, found)
        raise_if(found)
        return await self._repo.reconcile(user_id)

    async def close(self) -> None:
        await self._committer.drain()


def settle(outcome: Outcome, mutation: Mutation) -> Applied:
    """Turn the database's verdict on one item into a result or a domain error."""
    status = outcome.status
    if status == "ok":
        assert outcome.entry is not None and outcome.balance is not None
        return Applied(outcome.entry, outcome.balance, outcome.replayed)
    if status == "insufficient":
        assert outcome.balance is not None and outcome.required is not None
        raise InsufficientCredits(outcome.balance, outcome.required)
    if status == "key_reused":
        raise IdempotencyKeyReused()
    if status == "no_account":
        raise unknown_account(mutation.user_id or "")
    if status == "no_charge":
        raise ChargeNotFound(f"no charge with reference {mutation.reference!r}")
    if status == "already_refunded":
        raise AlreadyRefunded(f"the charge {mutation.reference!r} was already refunded")
    if status == "reference_charged":
        raise ReferenceAlreadyCharged(
            f"reference {mutation.reference!r} was already charged under another key"
        )
    raise AssertionError(f"unknown ledger outcome {status!r}")


def decode_page_token(token: str, found: list[FieldViolation]) -> int | None:
    try:
        return wire.decode_page_token(PAGE_KIND, token)
    except ValueError:
        found.append(FieldViolation("page_token", "is not a token from a previous page"))
        return None
