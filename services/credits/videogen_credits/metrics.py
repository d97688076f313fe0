"""The credits service's own metrics, beside the per-RPC ones."""

from __future__ import annotations

from prometheus_client import Counter

SWEPT = Counter(
    "credits_swept_total", "Grants expired and holds released by the sweeps", ["outcome"]
)
