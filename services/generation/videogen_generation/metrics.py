"""The generation service's own metrics, beside the per-RPC ones."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

FINISHED = Counter(
    "generations_finished_total",
    "Generations that reached a terminal state, by state and model",
    ["status", "model"],
)
OPEN_OLDEST = Gauge(
    "generation_open_oldest_seconds",
    "Age of the oldest generation not yet finished (0: none), as of the last recovery pass",
    # With several workers: the oldest any live one saw (a dead one's value is dropped).
    multiprocess_mode="livemax",
)
RECOVERY_ACTIONS = Counter(
    "generation_recovery_actions_total",
    "Recovery steps taken, by kind of work and outcome (ok or error)",
    ["step", "outcome"],
)
PROVIDER_DUPLICATES_CANCELED = Counter(
    "generation_provider_duplicates_canceled_total",
    "Second jobs found at the provider for one generation, and canceled",
)
COPIES_LOST = Counter(
    "generation_output_copies_lost_total",
    "Outputs whose copy was given up after the bounded attempts",
)
UNPAID_DELIVERIES = Counter(
    "generation_unpaid_deliveries_total",
    "Videos delivered whose hold had timed out and that could not be charged",
)
