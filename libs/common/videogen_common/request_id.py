"""The request id: taken from the edge (X-Request-Id, or a new one), carried to every
service as gRPC metadata, and put on every log record made while serving it."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-Id"
METADATA_KEY = "x-request-id"
# What a client may choose: short, printable, nothing a log line could be forged with.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CURRENT: ContextVar[str] = ContextVar("request_id", default="")


def current() -> str:
    return _CURRENT.get()


def adopt(value: str | None) -> str:
    """This request's id: the caller's when it is a sane one, else a new one."""
    chosen = value if value and _VALID.match(value) else uuid.uuid4().hex
    _CURRENT.set(chosen)
    return chosen


def from_metadata(metadata) -> None:
    """The id an upstream service sent along, for this RPC's logs (none: unset)."""
    for key, value in metadata or ():
        if key == METADATA_KEY and isinstance(value, str) and _VALID.match(value):
            _CURRENT.set(value)
            return
    _CURRENT.set("")


def outgoing() -> tuple[tuple[str, str], ...]:
    value = _CURRENT.get()
    return ((METADATA_KEY, value),) if value else ()


def _install() -> None:
    """Every log record gets ``request_id`` (empty outside a request), whoever handles it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = _CURRENT.get()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install()
