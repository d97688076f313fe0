"""The credits service's own metrics, beside the per-RPC ones."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

MOVED = Counter(
    "credits_moved_total",
    "Credits that entered (+) or left (-) accounts, by entry kind, as absolute amounts",
    ["kind", "direction"],
)
DRIFT = Gauge(
    "credits_ledger_drift_accounts",
    "Accounts whose balance is not the sum of their entries, at the last full Reconcile",
    # With several workers: the last Reconcile any of them ran.
    multiprocess_mode="mostrecent",
)
SWEPT = Counter(
    "credits_swept_total", "Grants expired and holds released by the sweeps", ["outcome"]
)
