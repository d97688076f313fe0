"""Service-to-service identity: each internal caller sends its own bearer token.

The server knows a name per token; rules about what each name may do live with the
service that owns the data.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

from . import request_id
from .errors import PermissionDenied, Unauthenticated

METADATA_KEY = "authorization"


class CallerAuthenticator:
    def __init__(self, tokens_by_caller: Mapping[str, str]) -> None:
        if not tokens_by_caller:
            raise ValueError("at least one caller token is required")
        for caller, token in tokens_by_caller.items():
            if len(token) < 16:
                raise ValueError(f"token for caller {caller!r} is shorter than 16 characters")
        self._tokens = [(c, t.encode()) for c, t in tokens_by_caller.items()]

    def identify(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        presented = None
        for key, value in metadata or ():
            if key == METADATA_KEY and isinstance(value, str) and value.startswith("Bearer "):
                presented = value[len("Bearer ") :].encode()
        if presented is None:
            raise Unauthenticated("missing caller token", reason="MISSING_CALLER_TOKEN")
        found = None
        # Compare against every token so timing does not reveal which one matched.
        for caller, token in self._tokens:
            if hmac.compare_digest(presented, token):
                found = caller
        if found is None:
            raise Unauthenticated("unknown caller token", reason="BAD_CALLER_TOKEN")
        return found


def caller_metadata(token: str) -> tuple[tuple[str, str], ...]:
    return ((METADATA_KEY, f"Bearer {token}"),)


class AuthedStub:
    """A generated stub whose every call carries the caller's token."""

    def __init__(self, stub: object, token: str) -> None:
        self._stub = stub
        self._metadata = caller_metadata(token)

    def __getattr__(self, name: str):
        method = getattr(self._stub, name)

        def call(request, **kwargs):
            # The token, and the id of the request this call serves (for its logs).
            kwargs.setdefault("metadata", self._metadata + request_id.outgoing())
            return method(request, **kwargs)

        return call


def authorize(callers_by_rpc: Mapping[str, frozenset[str]], caller: str, rpc: str) -> None:
    """Allow ``caller`` only where the service's table names it for ``rpc``."""
    if caller not in callers_by_rpc.get(rpc, frozenset()):
        raise PermissionDenied(f"caller {caller!r} may not call {rpc}")
