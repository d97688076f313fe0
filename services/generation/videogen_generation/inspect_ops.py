"""What an operator looks at: generations still open past an age, and one generation's
history. Read only; any user's rows, so only the API gateway's admin routes call it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from videogen_common.errors import FieldViolation, InvalidArgument, NotFound

from .domain import Generation, Status
from .repository import GenerationRepository

OLDER_THAN_MAX_S = 30 * 86400
STUCK_PAGE_DEFAULT, STUCK_PAGE_MAX = 50, 200


@dataclass(frozen=True)
class Change:
    event_id: int
    status: Status
    progress: int
    charge: str
    at: datetime


class Inspection:
    def __init__(self, repo: GenerationRepository) -> None:
        self._repo = repo

    async def stuck(self, older_than_s: int, page_size: int) -> list[Generation]:
        found = []
        if not 0 <= older_than_s <= OLDER_THAN_MAX_S:
            found.append(FieldViolation("older_than_s", f"must be 0 to {OLDER_THAN_MAX_S}"))
        if not 0 <= page_size <= STUCK_PAGE_MAX:
            found.append(FieldViolation("page_size", f"must be 0 to {STUCK_PAGE_MAX}"))
        if found:
            raise InvalidArgument.of(*found)
        return await self._repo.open_older_than(
            timedelta(seconds=older_than_s), page_size or STUCK_PAGE_DEFAULT
        )

    async def history(self, generation_id: str) -> tuple[Generation, list[Change]]:
        gen = await self._repo.get_any(generation_id)
        if gen is None:
            raise NotFound("no such generation")
        rows = await self._repo.changes(generation_id)
        return gen, [Change(r[0], Status(r[1]), r[2], r[3], r[4]) for r in rows]
