"""The one table that turns error categories into gRPC codes and HTTP statuses. Only the
edges (gRPC servicers, HTTP handlers) import it; rules raise errors.py's categories."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from .errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServiceError,
    Unauthenticated,
    Unavailable,
)


@dataclass(frozen=True)
class Mapping:
    grpc_code: grpc.StatusCode
    http_status: int


# The one place where meaning becomes a wire status. Order matters only for subclasses
# of each other, which these are not.
STATUS_TABLE: dict[type[ServiceError], Mapping] = {
    InvalidArgument: Mapping(grpc.StatusCode.INVALID_ARGUMENT, 422),
    NotFound: Mapping(grpc.StatusCode.NOT_FOUND, 404),
    AlreadyExists: Mapping(grpc.StatusCode.ALREADY_EXISTS, 409),
    FailedPrecondition: Mapping(grpc.StatusCode.FAILED_PRECONDITION, 409),
    Unauthenticated: Mapping(grpc.StatusCode.UNAUTHENTICATED, 401),
    PermissionDenied: Mapping(grpc.StatusCode.PERMISSION_DENIED, 403),
    ResourceExhausted: Mapping(grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    Unavailable: Mapping(grpc.StatusCode.UNAVAILABLE, 503),
}

# Reasons whose HTTP status differs from their category's (402 is HTTP-only).
HTTP_BY_REASON: dict[str, int] = {"INSUFFICIENT_CREDITS": 402, "IN_DEBT": 402}

_FALLBACK = Mapping(grpc.StatusCode.INTERNAL, 500)


def mapping_for(error: ServiceError) -> Mapping:
    for cls in type(error).__mro__:
        if cls in STATUS_TABLE:
            return STATUS_TABLE[cls]
    return _FALLBACK


def http_status_for(error: ServiceError) -> int:
    return HTTP_BY_REASON.get(error.reason, mapping_for(error).http_status)


# gRPC codes that no domain error carries, as an HTTP edge must answer them: an upstream
# that is down is 503, a deadline 504; never a bare 500 with a trace.
_HTTP_BY_TRANSPORT_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 503,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 422,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 502,
    grpc.StatusCode.UNKNOWN: 502,
    grpc.StatusCode.DATA_LOSS: 502,
    # The edge's own identity was refused: a configuration fault, not the user's.
    grpc.StatusCode.UNAUTHENTICATED: 502,
    grpc.StatusCode.PERMISSION_DENIED: 502,
}
HTTP_BY_GRPC_CODE: dict[grpc.StatusCode, int] = {
    **{m.grpc_code: m.http_status for m in STATUS_TABLE.values()},
    **_HTTP_BY_TRANSPORT_CODE,
}


def http_status_for_grpc(code: grpc.StatusCode, reason: str) -> int:
    """The HTTP status for an error a gRPC upstream returned (same table as above)."""
    return HTTP_BY_REASON.get(reason, HTTP_BY_GRPC_CODE.get(code, 502))
