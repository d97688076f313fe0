"""Ledger vocabulary and errors. Standard library only.

Every credit belongs to a grant; usage and holds draw from an account's live grants in
spend order (priority, then soonest expiry, then oldest); the money itself moves in the
database (migration 0004), exactly once per idempotency key.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime

from videogen_common.contract import IDEMPOTENCY_KEY_LENGTH_MAX
from videogen_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)

KEY_LENGTH_MAX = IDEMPOTENCY_KEY_LENGTH_MAX
REFERENCE_LENGTH_MAX = 200
TEXT_LENGTH_MAX = 500
ACTOR_LENGTH_MAX = 200
PRIORITY_MIN, PRIORITY_MAX = 0, 100


class Kind(str, enum.Enum):
    SIGNUP_GRANT = "signup_grant"
    USAGE = "usage"
    REFUND = "refund"
    PURCHASE = "purchase"
    GRANT = "grant"
    ADMIN_ADJUSTMENT = "admin_adjustment"
    SUBSCRIPTION = "subscription"
    PROMO = "promo"
    EXPIRY = "expiry"
    REVERSAL = "reversal"
    DEBT_PAYMENT = "debt_payment"


ADDABLE_KINDS = frozenset({Kind.PURCHASE, Kind.GRANT, Kind.ADMIN_ADJUSTMENT})


class Source(str, enum.Enum):
    SIGNUP = "signup"
    PURCHASE = "purchase"
    SUBSCRIPTION = "subscription"
    PROMO = "promo"
    ADMIN = "admin"
    MIGRATED = "migrated"


# Spent first to last: what expires soonest and costs the user nothing goes first, paid
# credits last. Promo credits are short-lived; a subscription's lapse at period end;
# signup and support credits were free; a purchase is what a user paid for, and what a
# reversed payment takes back (so keeping it longest leaves the least debt).
DEFAULT_PRIORITY = {
    Source.PROMO: 40,
    Source.SUBSCRIPTION: 30,
    Source.SIGNUP: 20,
    Source.ADMIN: 20,
    Source.PURCHASE: 10,
    Source.MIGRATED: 10,
}
# The entry kind that brings each source's credits in.
KIND_OF_SOURCE = {
    Source.PURCHASE: Kind.PURCHASE,
    Source.SUBSCRIPTION: Kind.SUBSCRIPTION,
    Source.PROMO: Kind.PROMO,
    Source.ADMIN: Kind.GRANT,
}
GRANTABLE_SOURCES = frozenset(KIND_OF_SOURCE)


class Op(str, enum.Enum):
    """What the database function does with an item (credits.apply_one)."""

    TAKE = "take"  # usage, or a negative admin adjustment: drawn from grants
    GRANT = "grant"  # credits in, as a grant
    REFUND = "refund"  # a usage given back to the grants it drew from
    RESERVE = "reserve"  # a hold
    CAPTURE = "capture"  # a hold becomes usage
    RELEASE = "release"  # a hold goes back
    REVERSE = "reverse"  # a refunded or disputed payment
    ALLOT = "allot"  # a subscription invoice's allotment


class HoldStatus(str, enum.Enum):
    OPEN = "open"
    CAPTURED = "captured"
    RELEASED = "released"


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
    source: Source | None = None
    priority: int | None = None
    expires_at: datetime | None = None
    timeout_s: int | None = None
    period_end: datetime | None = None
    rollover_cap: int | None = None

    @property
    def fingerprint(self) -> str:
        # Parameters that define the effect; free text (description, actor) may differ
        # between retries without making them a different request.
        parts = (
            self.op.value,
            self.user_id or "",
            str(self.amount),
            self.kind.value,
            self.reference,
            self.source.value if self.source else "",
            str(self.priority),
            _iso(self.expires_at),
            str(self.timeout_s),
            _iso(self.period_end),
            str(self.rollover_cap),
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


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
    debt_delta: int = 0


@dataclass(frozen=True)
class Hold:
    id: int
    user_id: str
    reference: str
    amount: int
    status: HoldStatus
    captured: int | None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Applied:
    entry: Entry | None
    balance: int
    replayed: bool
    hold: Hold | None = None
    debt: int = 0


@dataclass(frozen=True)
class Grant:
    id: int
    source: Source
    amount: int
    remaining: int
    expired: int
    priority: int
    expires_at: datetime | None
    reference: str
    created_at: datetime
    reversed: bool


@dataclass(frozen=True)
class Account:
    user_id: str
    balance: int  # the ledger's: Σ entries (expired credits not yet swept too)
    plan: str
    unlimited: bool
    created_at: datetime
    # The newest entry reflected in ``balance`` (0 when there is none).
    last_entry_id: int = 0
    available: int = 0  # live grants' remaining: what can be spent now
    reserved: int = 0
    debt: int = 0
    plan_period_end: datetime | None = None
    next_expiry_at: datetime | None = None
    next_expiry_amount: int = 0

    @property
    def total(self) -> int:
        return self.available + self.reserved


@dataclass(frozen=True)
class Plan:
    code: str
    allotment: int
    rollover_cap: int
    unlimited: bool


@dataclass(frozen=True)
class Package:
    id: str
    credits: int
    price: int  # in the currency's minor unit
    currency: str  # ISO 4217, lower case


@dataclass(frozen=True)
class Drift:
    user_id: str
    balance: int
    entries_sum: int
    broken_entry_id: int
    description: str


class IdempotencyKeyReused(AlreadyExists):
    reason = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self) -> None:
        super().__init__(
            "idempotency_key was already used with other parameters",
            violations=(FieldViolation("idempotency_key", "already used with other parameters"),),
        )


class ChargeNotFound(NotFound):
    reason = "CHARGE_NOT_FOUND"


class HoldNotFound(NotFound):
    reason = "HOLD_NOT_FOUND"


class PaymentNotFound(NotFound):
    reason = "PAYMENT_NOT_FOUND"


class AlreadyRefunded(AlreadyExists):
    reason = "ALREADY_REFUNDED"


class AlreadyReversed(AlreadyExists):
    reason = "ALREADY_REVERSED"


class ReferenceAlreadyCharged(AlreadyExists):
    reason = "REFERENCE_ALREADY_CHARGED"


class ReferenceAlreadyCredited(AlreadyExists):
    reason = "REFERENCE_ALREADY_CREDITED"


class HoldExists(AlreadyExists):
    reason = "HOLD_EXISTS"


class HoldAlreadyCaptured(AlreadyExists):
    reason = "HOLD_ALREADY_CAPTURED"


class HoldAlreadyReleased(AlreadyExists):
    reason = "HOLD_ALREADY_RELEASED"


class PriceMismatch(FailedPrecondition):
    reason = "PRICE_MISMATCH"


class NothingDue(FailedPrecondition):
    reason = "NOTHING_DUE"


def unknown_account(user_id: str) -> InvalidArgument:
    error = InvalidArgument.of(
        FieldViolation("user_id", f"no account for user {user_id}; call EnsureAccount first")
    )
    error.reason = "UNKNOWN_ACCOUNT"
    return error
