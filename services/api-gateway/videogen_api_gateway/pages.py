"""?limit= and ?cursor= on lists; absent, the seed's 50 newest."""

from __future__ import annotations

from aiohttp import web

from videogen_common.contract import HTTP_PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT, PAGE_TOKEN_LENGTH_MAX
from videogen_common.errors import FieldViolation, InvalidArgument

LIMIT_DEFAULT, LIMIT_MAX = PAGE_SIZE_DEFAULT, HTTP_PAGE_SIZE_MAX


def page_params(request: web.Request) -> tuple[int, str]:
    raw = request.query.get("limit", str(LIMIT_DEFAULT))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= LIMIT_MAX:
        raise InvalidArgument.of(FieldViolation("limit", f"must be 1 to {LIMIT_MAX}"))
    cursor = request.query.get("cursor", "")
    if len(cursor) > PAGE_TOKEN_LENGTH_MAX:
        raise InvalidArgument.of(FieldViolation("cursor", "is not a cursor from a previous page"))
    return int(raw), cursor
