"""Predictions in memory: the record, its public JSON, and a bounded, ordered store."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
HISTORY_MAX = 200_000
# Replicate ids are 26 characters of lowercase letters and digits.
_ID_ALPHABET = "abcdefghjkmnpqrstvwxyz0123456789"


def new_prediction_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    """Replicate's timestamp form: microseconds and a literal Z."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Prediction:
    id: str
    seq: int  # creation order; the list endpoint's cursors point into it
    model: str
    version: str
    input: dict[str, Any]
    webhook: str | None
    webhook_events_filter: list[str] | None
    outcome: str  # what the lifecycle will end in (decided at creation)
    status: str = "starting"
    logs: str = ""
    output: Any = None
    error: str | None = None
    created_at: datetime = field(default_factory=utc_now)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    # Lost midway (the lose_rate knob): from then on unknown to the API, no webhooks.
    lost: bool = False
    lose_at_step: int | None = None
    task: asyncio.Task[None] | None = None
    # Set once the prediction is terminal: lets "Prefer: wait" requests block on it.
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def to_json(self, base_url: str) -> dict[str, Any]:
        api = f"{base_url}/v1/predictions/{self.id}"
        return {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "logs": self.logs,
            "output": self.output,
            "data_removed": False,
            "error": self.error,
            "status": self.status,
            "source": "api",
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at),
            "urls": {"get": api, "cancel": f"{api}/cancel", "web": f"{base_url}/p/{self.id}"},
            "metrics": dict(self.metrics),
            "webhook": self.webhook,
            "webhook_events_filter": self.webhook_events_filter,
        }


class StoreFull(Exception):
    """Every stored prediction is still running, so none can be forgotten."""


def _encode_cursor(direction: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int] | None:
    """('older'|'newer', seq) or None if the cursor is not one we issued."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, _, seq = raw.partition(":")
        if direction in ("older", "newer"):
            return direction, int(seq)
    except (ValueError, UnicodeDecodeError):
        pass
    return None


class PredictionStore:
    def __init__(
        self, max_predictions: int, on_evict: Callable[[Prediction], None] | None = None
    ) -> None:
        self.max_predictions = max_predictions
        self._on_evict = on_evict
        self._items: OrderedDict[str, Prediction] = OrderedDict()  # oldest first
        # Every prediction ever made, lost and forgotten ones too, for audits (bounded).
        self.history: OrderedDict[str, Prediction] = OrderedDict()
        self._next_seq = 1

    def __len__(self) -> int:
        return len(self._items)

    def get(self, prediction_id: str) -> Prediction | None:
        return self._items.get(prediction_id)

    def all(self) -> list[Prediction]:
        return list(self._items.values())

    def add(self, **fields: Any) -> Prediction:
        self._make_room()
        prediction = Prediction(id=new_prediction_id(), seq=self._next_seq, **fields)
        self._next_seq += 1
        self._items[prediction.id] = prediction
        self.history[prediction.id] = prediction
        if len(self.history) > HISTORY_MAX:
            self.history.popitem(last=False)
        return prediction

    def lose(self, prediction: Prediction) -> None:
        """Forget a prediction as a provider that lost it would: 404 from now on."""
        prediction.lost = True
        self._items.pop(prediction.id, None)

    def _make_room(self) -> None:
        """Forget the oldest terminal predictions until one more fits (bounded by size)."""
        excess = len(self._items) - self.max_predictions + 1
        if excess <= 0:
            return
        victims = [p.id for p in self._items.values() if p.terminal][:excess]
        if len(victims) < excess:
            raise StoreFull()
        for prediction_id in victims:
            evicted = self._items.pop(prediction_id)
            if self._on_evict is not None:
                self._on_evict(evicted)

    def page(
        self, cursor: tuple[str, int] | None, size: int
    ) -> tuple[list[Prediction], str | None, str | None]:
        """One page, newest first, plus the cursors of the older and newer pages."""
        newest_first = list(reversed(self._items.values()))
        if cursor is None:
            start = 0
        elif cursor[0] == "older":
            start = next(
                (i for i, p in enumerate(newest_first) if p.seq < cursor[1]), len(newest_first)
            )
        else:
            newer = [i for i, p in enumerate(newest_first) if p.seq > cursor[1]]
            start = max(0, len(newer) - size)
        items = newest_first[start : start + size]
        older = None
        if start + size < len(newest_first) and items:
            older = _encode_cursor("older", items[-1].seq)
        newer_cursor = _encode_cursor("newer", items[0].seq) if start > 0 and items else None
        return items, older, newer_cursor
