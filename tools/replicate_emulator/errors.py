"""Replicate-style error bodies (RFC 7807 problem details) and the middlewares using them.

The official client builds ReplicateError from the JSON keys title/detail/status, so every
error the emulator answers (including aiohttp's own 404/405/413) is turned into that shape.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger("replicate_emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request entity too large",
    422: "Input validation failed",
    429: "Request was throttled",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    body = {"title": title or TITLES.get(status, "Error"), "detail": detail, "status": status}
    body.update(extra)
    return web.Response(
        status=status,
        text=json.dumps(body),
        headers=headers,
        content_type="application/problem+json",
    )


def invalid(detail: str, field: str | None = None) -> web.Response:
    """A 422 like Replicate's input validation failures, with invalid_fields when known."""
    extra: dict[str, Any] = {}
    if field is not None:
        extra["invalid_fields"] = [{"type": "invalid", "field": field, "description": detail}]
    return problem(422, detail, **extra)


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def make_middlewares(api_token: str) -> list[Callable[..., Any]]:
    expected = api_token.encode()

    @web.middleware
    async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return problem(exc.status, exc.reason or TITLES.get(exc.status, "Error"))
        except Exception:  # an emulator bug must still answer like an API would
            log.exception("unhandled error on %s %s", request.method, request.path)
            return problem(500, "The emulator hit an internal error.")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_emulator"):
            # Unauthenticated by design (tests in other processes use it), so only local
            # callers may reach it even if the server was bound to a wider address.
            if not _is_loopback(request.remote):
                return problem(403, "The control API only answers loopback clients.")
        elif path.startswith("/v1/") or path == "/v1":
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            # Replicate accepts "Bearer" and the older "Token" scheme.
            valid = scheme in ("Bearer", "Token") and hmac.compare_digest(
                token.strip().encode(), expected
            )
            if not valid:
                return problem(
                    401, "You did not pass a valid authentication token", title="Unauthenticated"
                )
        return await handler(request)

    return [problems, guard]
