"""Small wire formats every gRPC edge shares: timestamps and opaque page tokens."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def encode_page_token(kind: str, last: int) -> str:
    """An opaque keyset cursor: the last row's position, tagged with what it pages."""
    return base64.urlsafe_b64encode(f"{kind}:{last}".encode()).decode().rstrip("=")


def decode_page_token(kind: str, token: str) -> int | None:
    """The position in a token from encode_page_token(kind, …); None for no token.

    Raises ValueError for anything else.
    """
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not a page token") from None
    prefix, _, value = raw.partition(":")
    if prefix != kind or not (value.isascii() and value.isdigit()):
        raise ValueError("not a page token")
    return int(value)
