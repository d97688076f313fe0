"""The database's verdict on one item, as a result or a domain error. Standard library
only (the outcome is a plain dataclass)."""

from __future__ import annotations

from collections.abc import Callable

from videogen_common.errors import (
    FieldViolation,
    InDebt,
    InsufficientCredits,
    InvalidArgument,
    ServiceError,
)

from .domain import (
    AlreadyRefunded,
    AlreadyReversed,
    Applied,
    ChargeNotFound,
    HoldAlreadyCaptured,
    HoldAlreadyReleased,
    HoldExists,
    HoldNotFound,
    IdempotencyKeyReused,
    Mutation,
    NothingDue,
    PaymentNotFound,
    ReferenceAlreadyCharged,
    ReferenceAlreadyCredited,
    unknown_account,
)


def settle(outcome, mutation: Mutation) -> Applied:
    status = outcome.status
    ref = mutation.reference
    if status == "ok":
        assert outcome.balance is not None
        return Applied(outcome.entry, outcome.balance, outcome.replayed, outcome.hold, outcome.debt)
    if status == "insufficient":
        assert outcome.balance is not None and outcome.required is not None
        raise InsufficientCredits(outcome.balance, outcome.required)
    if status == "in_debt":
        raise InDebt(outcome.debt, outcome.required or 0)
    if status == "capture_exceeds":
        raise InvalidArgument.of(
            FieldViolation("amount", f"must be at most the {outcome.required} credits reserved")
        )
    if status == "no_account":
        raise unknown_account(mutation.user_id or "")
    simple: dict[str, Callable[[], ServiceError]] = {
        "key_reused": IdempotencyKeyReused,
        "no_charge": lambda: ChargeNotFound(f"no charge with reference {ref!r}"),
        "no_hold": lambda: HoldNotFound(f"no hold with reference {ref!r}"),
        "no_payment": lambda: PaymentNotFound(f"no credited payment {ref!r}"),
        "already_refunded": lambda: AlreadyRefunded(f"the charge {ref!r} was already refunded"),
        "already_reversed": lambda: AlreadyReversed(f"the payment {ref!r} was already reversed"),
        "reference_charged": lambda: ReferenceAlreadyCharged(
            f"reference {ref!r} was already charged under another key"
        ),
        "reference_credited": lambda: ReferenceAlreadyCredited(
            f"reference {ref!r} was already credited under another key"
        ),
        "hold_exists": lambda: HoldExists(f"reference {ref!r} already has a hold"),
        "hold_captured": lambda: HoldAlreadyCaptured(f"the hold {ref!r} was captured"),
        "hold_released": lambda: HoldAlreadyReleased(f"the hold {ref!r} was released"),
        "nothing_due": lambda: NothingDue("nothing is due for this period"),
    }
    if status in simple:
        raise simple[status]()
    raise AssertionError(f"unknown ledger outcome {status!r}")
