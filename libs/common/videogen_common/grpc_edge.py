"""The frame of every RPC handler: metrics, caller identity, authorization, and domain
errors turned into rich gRPC statuses. Handlers supply only the translation."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from . import request_id
from .caller_auth import CallerAuthenticator
from .db import is_database_outage
from .errors import ServiceError, Unavailable
from .grpc_status import to_rpc_status
from .metrics import observe_rpc
from .status_table import mapping_for

T = TypeVar("T")
log = logging.getLogger(__name__)


class Internal(ServiceError):
    """A bug: the handler failed in a way it did not foresee (logged with its trace)."""

    reason = "INTERNAL"


async def serve_rpc(
    service: str,
    rpc: str,
    context: grpc.aio.ServicerContext,
    auth: CallerAuthenticator,
    authorize: Callable[[str, str], None],
    work: Callable[[str], Awaitable[T]],
) -> T:
    """Run ``work(caller)`` for an authenticated, authorized caller; abort on errors."""
    with observe_rpc(service, rpc) as timer:
        metadata = context.invocation_metadata()
        request_id.from_metadata(metadata)
        try:
            caller = auth.identify(metadata)
            authorize(caller, rpc)
            result = await work(caller)
            if log.isEnabledFor(logging.DEBUG):  # the hot path pays nothing at INFO
                log.debug("rpc", extra={"rpc": f"{service}.{rpc}", "code": "OK"})
            return result
        except Exception as error:
            if not isinstance(error, ServiceError):
                error = _unforeseen(service, rpc, error)
            timer.code = mapping_for(error).grpc_code.name
            log.debug("rpc", extra={"rpc": f"{service}.{rpc}", "code": timer.code})
            await context.abort_with_status(to_rpc_status(error))
            raise AssertionError("abort_with_status returns only by raising") from None


def _unforeseen(service: str, rpc: str, error: Exception) -> ServiceError:
    """An outage is UNAVAILABLE, so callers retry later; anything else is INTERNAL."""
    if is_database_outage(error):
        log.warning(
            "database unavailable", extra={"rpc": f"{service}.{rpc}", "error": type(error).__name__}
        )
        return Unavailable(
            "the database is unavailable; retry later", reason="DATABASE_UNAVAILABLE"
        )
    log.error("unhandled error", exc_info=error, extra={"rpc": f"{service}.{rpc}"})
    return Internal("internal error")
