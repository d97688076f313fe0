"""Error categories the rules raise. Standard library only: the one table that turns them
into gRPC codes and HTTP statuses is the edges' (status_table.py).

Services raise subclasses of these (``InsufficientCredits(FailedPrecondition)``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    """Base of every handled (operating) error. ``reason`` is a stable UPPER_SNAKE code."""

    reason = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata = dict(metadata or {})
        self.violations = tuple(violations)


class InvalidArgument(ServiceError):
    reason = "INVALID_ARGUMENT"

    @classmethod
    def of(cls, *violations: FieldViolation) -> InvalidArgument:
        text = "; ".join(f"{v.field}: {v.description}" for v in violations)
        return cls(text, violations=violations)


class NotFound(ServiceError):
    reason = "NOT_FOUND"


class AlreadyExists(ServiceError):
    reason = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    reason = "FAILED_PRECONDITION"


class Unauthenticated(ServiceError):
    reason = "UNAUTHENTICATED"


class PermissionDenied(ServiceError):
    reason = "PERMISSION_DENIED"


class ResourceExhausted(ServiceError):
    reason = "RESOURCE_EXHAUSTED"


class Unavailable(ServiceError):
    reason = "UNAVAILABLE"


# Refusals more than one service speaks of, by the same reason (one definition).


class InsufficientCredits(FailedPrecondition):
    reason = "INSUFFICIENT_CREDITS"

    def __init__(self, balance: int, required: int) -> None:
        super().__init__(
            f"insufficient credits: balance {balance}, required {required}",
            metadata={"balance": str(balance), "required": str(required)},
        )
        self.balance = balance
        self.required = required


class InDebt(FailedPrecondition):
    reason = "IN_DEBT"

    def __init__(self, debt: int, required: int) -> None:
        super().__init__(
            f"the account owes {debt} credits from a reversed payment",
            metadata={"debt": str(debt), "required": str(required)},
        )
        self.debt = debt
