"""Input checks. Each collects every violation, so one answer names every bad field.
Standard library only."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from videogen_common.errors import FieldViolation, InvalidArgument

from .domain import KEY_LENGTH_MAX, PRIORITY_MAX, PRIORITY_MIN

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


class Rules:
    def __init__(self, amount_max: int) -> None:
        self.amount_max = amount_max

    def user_id(self, value: str, found: list[FieldViolation]) -> str:
        try:
            parsed = uuid.UUID(value)
        except (ValueError, AttributeError, TypeError):
            found.append(FieldViolation("user_id", "must be a UUID"))
            return value
        return str(parsed)

    def amount(
        self, value: int, found: list[FieldViolation], *, signed: bool = False, name: str = "amount"
    ) -> None:
        if value == 0:
            found.append(FieldViolation(name, "must not be zero"))
        elif value < 0 and not signed:
            found.append(FieldViolation(name, "must be positive"))
        elif abs(value) > self.amount_max:
            found.append(FieldViolation(name, f"must be at most {self.amount_max}"))

    @staticmethod
    def text(
        name: str, value: str, found: list[FieldViolation], *, length_max: int, required: bool
    ) -> None:
        if required and not value.strip():
            found.append(FieldViolation(name, "is required"))
        elif len(value) > length_max:
            found.append(FieldViolation(name, f"must be at most {length_max} characters"))
        elif _CONTROL.search(value):
            found.append(FieldViolation(name, "must not contain control characters"))

    def key(self, value: str, found: list[FieldViolation]) -> None:
        self.text("idempotency_key", value, found, length_max=KEY_LENGTH_MAX, required=True)

    @staticmethod
    def priority(value: int | None, found: list[FieldViolation]) -> None:
        if value is not None and not PRIORITY_MIN <= value <= PRIORITY_MAX:
            found.append(
                FieldViolation("priority", f"must be between {PRIORITY_MIN} and {PRIORITY_MAX}")
            )

    @staticmethod
    def future(
        name: str, value: datetime | None, found: list[FieldViolation], now: datetime | None = None
    ) -> None:
        if value is not None and value <= (now or datetime.now(UTC)):
            found.append(FieldViolation(name, "must be in the future"))


def raise_if(found: list[FieldViolation]) -> None:
    if found:
        raise InvalidArgument.of(*found)
