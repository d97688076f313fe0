"""Errors as the seed frontend reads them: JSON {"detail": ...}, one status table."""

from __future__ import annotations

import logging

import grpc
from aiohttp import web

from videogen_common.errors import FieldViolation, ServiceError
from videogen_common.grpc_status import parse_rpc_error
from videogen_common.status_table import http_status_for, http_status_for_grpc

from .shapes import SEED_WORD

log = logging.getLogger(__name__)


# The API's names for fields the services name otherwise, and where each comes from
# when not from the body.
API_NAMES = {
    "page_token": "cursor",
    "page_size": "limit",
    "idempotency_key": "Idempotency-Key",
    "image_bytes": "image",
    "duration_s": "duration",
}
LOCATIONS = {
    "cursor": "query",
    "limit": "query",
    "older_than_s": "query",
    "Idempotency-Key": "header",
}


def validation_detail(violations) -> list[dict]:
    """FastAPI's 422 shape: one entry per invalid field, where it came from."""
    found = []
    for v in violations:
        name = API_NAMES.get(v.field, v.field)
        found.append(
            {
                "loc": [LOCATIONS.get(name, "body"), name],
                "msg": v.description,
                "type": "value_error",
            }
        )
    return found


def _response(
    status: int, message: str, reason: str, metadata: dict, violations: tuple[FieldViolation, ...]
) -> web.Response:
    if status == 402:
        if reason == "IN_DEBT":
            return web.json_response(
                {
                    "detail": "The account is in debt",
                    "debt": int(metadata.get("debt", 0)),
                    "required": int(metadata.get("required", 0)),
                },
                status=402,
            )
        return web.json_response(
            {
                "detail": "Insufficient credits",
                "balance": int(metadata.get("balance", 0)),
                "required": int(metadata.get("required", 0)),
            },
            status=402,
        )
    if status == 422 and violations:
        return web.json_response({"detail": validation_detail(violations)}, status=422)
    if reason == "ALREADY_FINISHED" and "status" in metadata:
        word = SEED_WORD.get(metadata["status"], metadata["status"])
        return web.json_response(
            {"detail": f"The generation already ended: {word}", "status": word}, status=status
        )
    if status >= 500:
        message = {503: "Service temporarily unavailable", 504: "Upstream timed out"}.get(
            status, "Upstream error"
        )
    body = {"detail": message or reason}
    headers = {"Retry-After": metadata["retry_after"]} if "retry_after" in metadata else None
    return web.json_response(body, status=status, headers=headers)


def from_service_error(error: ServiceError) -> web.Response:
    return _response(
        http_status_for(error), error.message, error.reason, error.metadata, error.violations
    )


def from_rpc_error(error: grpc.RpcError) -> web.Response:
    remote = parse_rpc_error(error)
    status = http_status_for_grpc(remote.code, remote.reason)
    if status >= 500:
        log.warning("upstream error", extra={"code": remote.code.name, "status": status})
    return _response(status, remote.message, remote.reason, remote.metadata, remote.violations)


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ServiceError as error:
        return from_service_error(error)
    except grpc.RpcError as error:
        return from_rpc_error(error)
    except web.HTTPException as error:
        if error.status >= 400 and error.content_type != "application/json":
            return web.json_response(
                {"detail": error.reason},
                status=error.status,
                headers={
                    k: v for k, v in error.headers.items() if k.lower() in ("allow", "retry-after")
                },
            )
        raise
    except Exception:  # never a trace to the client; the log has it
        log.exception("unhandled error", extra={"path": request.path})
        return web.json_response({"detail": "Internal error"}, status=500)
