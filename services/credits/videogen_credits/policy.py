"""Which internal caller may do what. Callers are named in CREDITS_CALLER_TOKENS."""

from __future__ import annotations

from videogen_common import caller_auth
from videogen_common.errors import PermissionDenied

from .domain import Kind, Source

API = "api"  # the public API gateway, acting for a signed-in user
GENERATION = "generation"  # holds, charges and refunds generations
PAYMENTS = "payments"  # the webhook gateway, after a verified payment
ADMIN = "admin"  # operators' tools and the API gateway's admin routes

_READERS = frozenset({API, GENERATION, PAYMENTS, ADMIN})

RPC_CALLERS: dict[str, frozenset[str]] = {
    "EnsureAccount": _READERS,
    "GetBalance": _READERS,
    "ListTransactions": frozenset({API, ADMIN}),
    "ListGrants": frozenset({API, ADMIN}),
    "ListPackages": _READERS,
    "WatchBalance": frozenset({API, ADMIN}),
    "Deduct": frozenset({GENERATION}),
    "Refund": frozenset({GENERATION, ADMIN}),
    "Reserve": frozenset({GENERATION}),
    "Capture": frozenset({GENERATION}),
    "Release": frozenset({GENERATION, ADMIN}),
    "Add": frozenset({PAYMENTS, ADMIN}),
    "GrantCredits": frozenset({PAYMENTS, ADMIN}),
    "RecordPurchase": frozenset({PAYMENTS}),
    "ReversePayment": frozenset({PAYMENTS}),
    "ApplySubscriptionInvoice": frozenset({PAYMENTS}),
    "SetPlan": frozenset({PAYMENTS, ADMIN}),
    "Reconcile": frozenset({ADMIN}),
}

ADD_KIND_CALLERS: dict[Kind, frozenset[str]] = {
    Kind.PURCHASE: frozenset({PAYMENTS}),
    Kind.GRANT: frozenset({ADMIN, PAYMENTS}),
    Kind.ADMIN_ADJUSTMENT: frozenset({ADMIN}),
}

# Paid credits come only from verified payments; promotions from either side.
GRANT_SOURCE_CALLERS: dict[Source, frozenset[str]] = {
    Source.PURCHASE: frozenset({PAYMENTS}),
    Source.SUBSCRIPTION: frozenset({PAYMENTS}),
    Source.PROMO: frozenset({PAYMENTS, ADMIN}),
    Source.ADMIN: frozenset({ADMIN}),
}


def authorize(caller: str, rpc: str) -> None:
    caller_auth.authorize(RPC_CALLERS, caller, rpc)


def authorize_add(caller: str, kind: Kind) -> None:
    if caller not in ADD_KIND_CALLERS.get(kind, frozenset()):
        raise PermissionDenied(f"caller {caller!r} may not add credits of kind {kind.value}")


def authorize_grant(caller: str, source: Source) -> None:
    if caller not in GRANT_SOURCE_CALLERS.get(source, frozenset()):
        raise PermissionDenied(f"caller {caller!r} may not grant {source.value} credits")
