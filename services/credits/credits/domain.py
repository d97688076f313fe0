"""Ledger vocabulary, input rules and errors. Standard library only."""
from __future__ import annotations

import enum
import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from videogen_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
KEY_LENGTH_MAX = 200
REFERENCE_LENGTH_MAX = 200
TEXT_LENGTH_MAX = 500
ACTOR_LENGTH_MAX = 200


class Kind(str, enum.Enum):
    SIGNUP_GRANT = "signup_grant"
    USAGE = "usage"
    REFUND = "refund"
    PURCHASE = "purchase"
    GRANT = "grant"
    ADMIN_ADJUSTMENT = "admin_adjustment"


ADDABLE_KINDS = frozenset({Kind.PURCHASE, Kind.GRANT, Kind.ADMIN_ADJUSTMENT})


class Op(str, enum.Enum):
    DEDUCT = "deduct"
    ADD = "add"
    REFUND = "refund"


@dataclass(frozen=True)
class Mutation:
    """One ledger change as the database function takes it."""

    op: Op
    user_id: str | None
    amount: int
    kind: Kind
    reference: str
    idempotency_key: str
    description: str
    actor: str

    @property
    def fingerprint(self) -> str:
        # Parameters that define the effect; free text (description, actor) may differ
        # between retries without making them a different request.
        parts = (self.op.value, self.user_id or "", str(self.amount), self.kind.value,
                 self.reference)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    id: int
    user_id: str
    kind: Kind
    amount: int
    balance_after: int
    reference: str
    description: str
    actor: str
    created_at: datetime


@dataclass(frozen=True)
class Applied:
    entry: Entry
    balance: int
    replayed: bool


@dataclass(frozen=True)
class Account:
    user_id: str
    balance: int
    plan: str
    unlimited: bool
    created_at: datetime
    # The newest entry reflected in ``balance`` (0 when there is none).
    last_entry_id: int = 0


@dataclass(frozen=True)
class Drift:
    user_id: str
    balance: int
    entries_sum: int
    broken_entry_id: int
    description: str


class InsufficientCredits(FailedPrecondition):
    reason = "INSUFFICIENT_CREDITS"

    def __init__(self, balance: int, required: int) -> None:
        super().__init__(
            f"insufficient credits: balance {balance}, required {required}",
            metadata={"balance": str(balance), "required": str(required)},
        )
        self.balance = balance
        self.required = required


class IdempotencyKeyReused(AlreadyExists):
    reason = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self) -> None:
        super().__init__(
            "idempotency_key was already used with other parameters",
            violations=(FieldViolation("idempotency_key", "already used with other parameters"),),
        )


class ChargeNotFound(NotFound):
    reason = "CHARGE_NOT_FOUND"


class AlreadyRefunded(AlreadyExists):
    reason = "ALREADY_REFUNDED"


class ReferenceAlreadyCharged(AlreadyExists):
    reason = "REFERENCE_ALREADY_CHARGED"


def unknown_account(user_id: str) -> InvalidArgument:
    error = InvalidArgument.of(
        FieldViolation("user_id", f"no account for user {user_id}; call EnsureAccount first")
    )
    error.reason = "UNKNOWN_ACCOUNT"
    return error


class Rules:
    """Input checks. Each collects every violation, so one answer names every bad field."""

    def __init__(self, amount_max: int) -> None:
        self.amount_max = amount_max

    def user_id(self, value: str, found: list[FieldViolation]) -> str:
        try:
            parsed = uuid.UUID(value)
        except (ValueError, AttributeError, TypeError):
            found.append(FieldViolation("user_id", "must be a UUID"))
            return value
        return str(parsed)

    def amount(self, value: int, found: list[FieldViolation], *, signed: bool = False) -> None:
        if value == 0:
            found.append(FieldViolation("amount", "must not be zero"))
        elif value < 0 and not signed:
            found.append(FieldViolation("amount", "must be positive"))
        elif abs(value) > self.amount_max:
            found.append(FieldViolation("amount", f"must be at most {self.amount_max}"))

    @staticmethod
    def text(name: str, value: str, found: list[FieldViolation], *, length_max: int,
             required: bool) -> None:
        if required and not value.strip():
            found.append(FieldViolation(name, "is required"))
        elif len(value) > length_max:
            found.append(FieldViolation(name, f"must be at most {length_max} characters"))
        elif _CONTROL.search(value):
            found.append(FieldViolation(name, "must not contain control characters"))

    def key(self, value: str, found: list[FieldViolation]) -> None:
        self.text("idempotency_key", value, found, length_max=KEY_LENGTH_MAX, required=True)


def raise_if(found: list[FieldViolation]) -> None:
    if found:
        raise InvalidArgument.of(*found)
