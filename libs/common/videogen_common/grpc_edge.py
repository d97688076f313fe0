"""The frame of every RPC handler: metrics, caller identity, authorization, and domain
errors turned into rich gRPC statuses. Handlers supply only the translation."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from .caller_auth import CallerAuthenticator
from .errors import ServiceError, mapping_for
from .grpc_status import to_rpc_status
from .metrics import observe_rpc

T = TypeVar("T")


async def serve_rpc(service: str, rpc: str, context: grpc.aio.ServicerContext,
                    auth: CallerAuthenticator, authorize: Callable[[str, str], None],
                    work: Callable[[str], Awaitable[T]]) -> T:
    """Run ``work(caller)`` for an authenticated, authorized caller; abort on errors."""
    with observe_rpc(service, rpc) as timer:
        try:
            caller = auth.identify(context.invocation_metadata())
            authorize(caller, rpc)
            return await work(caller)
        except ServiceError as error:
            timer.code = mapping_for(error).grpc_code.name
            await context.abort_with_status(to_rpc_status(error))
            raise AssertionError("abort_with_status returns only by raising") from None
