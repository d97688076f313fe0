"""Which internal caller may call what. Callers are named in GENERATION_CALLER_TOKENS."""

from __future__ import annotations

from videogen_common import caller_auth

API = "api"  # the public API gateway, acting for a signed-in user
WEBHOOKS = "webhooks"  # the webhook gateway, with verified provider news

USER_RPCS = frozenset(
    {
        "CreateGeneration",
        "GetGeneration",
        "ListGenerations",
        "CancelGeneration",
        "RetryGeneration",
        "WatchGenerations",
    }
)
RPC_CALLERS: dict[str, frozenset[str]] = {
    **{rpc: frozenset({API}) for rpc in USER_RPCS},
    "ApplyProviderUpdate": frozenset({WEBHOOKS}),
    "GetCatalog": frozenset({API, WEBHOOKS}),
    # Read-only, any user's: the gateway serves them to admins only.
    "ListStuckGenerations": frozenset({API}),
    "GetGenerationHistory": frozenset({API}),
}


def authorize(caller: str, rpc: str) -> None:
    caller_auth.authorize(RPC_CALLERS, caller, rpc)
