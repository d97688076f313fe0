"""?limit= and ?cursor= on lists; absent, the seed's 50 newest."""

from __future__ import annotations

from aiohttp import web

from videogen_common.contract import HTTP_PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, PAGE_TOKEN_LENGTH_MAX
from videogen_common.errors import FieldViolation, InvalidArgument

LIMIT_DEFAULT, LIMIT_MAX = PAGE_SIZE_DEFAULT, HTTP_PAGE_SIZE_MAX


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A whole number from the query string, within [low, high], or a 422 naming it."""
    raw = request.query.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidArgument.of(FieldViolation(name, f"must be {low} to {high}"))
    return int(raw)


def page_params(request: web.Request) -> tuple[int, str]:
    limit = query_int(request, "limit", LIMIT_DEFAULT, 1, LIMIT_MAX)
    cursor = request.query.get("cursor", "")
    if len(cursor) > PAGE_TOKEN_LENGTH_MAX:
        raise InvalidArgument.of(FieldViolation("cursor", "is not a cursor from a previous page"))
    return limit, cursor
