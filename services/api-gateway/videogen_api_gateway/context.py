"""What handlers share: upstream stubs, the authenticator, limits, settings."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import grpc
from aiohttp import web
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from videogen.credits.v1 import credits_pb2 as cpb
from videogen_common.caller_auth import AuthedStub
from videogen_common.contract import IDEMPOTENCY_KEY_LENGTH_MAX
from videogen_common.errors import FieldViolation, InvalidArgument, ResourceExhausted

from .auth import Authenticator, Principal

KNOWN_ACCOUNTS_MAX = 100_000
CONTEXT = web.AppKey("context", object)
PRINCIPAL = web.RequestKey("principal", Principal)


class RateLimited(ResourceExhausted):
    reason = "RATE_LIMITED"


class TooManyStreams(ResourceExhausted):
    reason = "TOO_MANY_STREAMS"


@dataclass
class Context:
    credits: AuthedStub
    credits_admin: AuthedStub
    generation: AuthedStub
    auth: Authenticator
    timeout_s: float
    generation_limit: str
    limit_storage_uri: str
    ping_s: float
    events_enabled: bool = True
    streams_per_user_max: int = 5
    _known: OrderedDict = field(default_factory=OrderedDict)
    _streams: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        uri = self.limit_storage_uri
        storage = storage_from_string(uri if uri.startswith("async+") else f"async+{uri}")
        self._limiter = MovingWindowRateLimiter(storage)
        self._limit = parse(self.generation_limit)

    async def ensure_account(self, principal: Principal) -> None:
        """Open the account (with its signup grant) on the user's first request."""
        if principal.user_id in self._known:
            self._known.move_to_end(principal.user_id)
            return
        await self.credits.EnsureAccount(
            cpb.EnsureAccountRequest(user_id=principal.user_id), timeout=self.timeout_s
        )
        self._known[principal.user_id] = True
        if len(self._known) > KNOWN_ACCOUNTS_MAX:
            self._known.popitem(last=False)

    @asynccontextmanager
    async def generation_slot(self, principal: Principal) -> AsyncIterator[None]:
        """One of the user's generation requests within the limit. Counted once the
        request was taken up, not when generation refused it as invalid (422): a form
        with a mistake must not lock its user out. Checked before, counted after, so
        requests racing each other may pass the limit by as many as race."""
        if not await self._limiter.test(self._limit, "generation", principal.user_id):
            stats = await self._limiter.get_window_stats(
                self._limit, "generation", principal.user_id
            )
            retry_after = max(1, int(stats.reset_time - time.time()) + 1)
            raise RateLimited(
                "Too many generation requests", metadata={"retry_after": str(retry_after)}
            )
        try:
            yield
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                await self._limiter.hit(self._limit, "generation", principal.user_id)
            raise
        await self._limiter.hit(self._limit, "generation", principal.user_id)

    @contextmanager
    def stream_slot(self, user_id: str) -> Iterator[None]:
        """One of the user's open event streams on this replica, while it lasts."""
        open_now = self._streams.get(user_id, 0)
        if open_now >= self.streams_per_user_max:
            raise TooManyStreams(
                f"At most {self.streams_per_user_max} open event streams per user",
                metadata={"retry_after": "5"},
            )
        self._streams[user_id] = open_now + 1
        try:
            yield
        finally:
            left = self._streams.pop(user_id) - 1
            if left:
                self._streams[user_id] = left


def context_of(request: web.Request) -> Context:
    context = request.app[CONTEXT]
    assert isinstance(context, Context)
    return context


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def idempotency_key(request: web.Request) -> str:
    """The client's Idempotency-Key, or a fresh one (the seed frontend sends none)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_LENGTH_MAX:
        raise InvalidArgument.of(FieldViolation("Idempotency-Key", "at most 200 characters"))
    return key or f"auto-{uuid.uuid4().hex}"


def path_uuid(request: web.Request, name: str) -> str:
    try:
        return str(uuid.UUID(request.match_info[name]))
    except ValueError:
        raise web.HTTPNotFound(reason="Generation not found") from None
