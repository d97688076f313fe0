"""ServiceError <-> google.rpc.Status (rich error details), for servers and clients."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from .errors import FieldViolation, ServiceError
from .status_table import mapping_for

ERROR_DOMAIN = "videogen"


def to_rpc_status(error: ServiceError) -> grpc.Status:
    code = mapping_for(error).grpc_code
    status = status_pb2.Status(code=code.value[0], message=error.message)
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    )
    status.details.add().Pack(info)
    if error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        status.details.add().Pack(bad)
    return rpc_status.to_status(status)


@dataclass(frozen=True)
class RemoteError:
    """What a client learns from a failed call: code, reason, metadata, violations."""

    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str]
    violations: tuple[FieldViolation, ...]


def parse_rpc_error(error: grpc.RpcError) -> RemoteError:
    code = error.code()
    message = error.details() or ""
    reason, metadata, violations = code.name, {}, []
    status = rpc_status.from_call(error)
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return RemoteError(code, message, reason, metadata, tuple(violations))
