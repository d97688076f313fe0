"""The generation as the service sees it, and provider news about it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .states import Charge, Status


@dataclass(frozen=True)
class Generation:
    id: str
    user_id: str
    model: str
    resolution: str
    prompt: str
    negative_prompt: str
    duration_s: int
    seed: int | None
    image_url: str | None
    provider_model: str
    provider_input: dict
    price: int
    status: Status
    progress: int
    charge: Charge
    prediction_id: str | None
    output_url: str | None
    video_url: str | None
    error: str | None
    logs: str
    retry_of: str | None
    created_at: datetime
    completed_at: datetime | None
    seq: int
    fingerprint: str = ""
    copy_lost: bool = False
    provider_missing: int = 0


def _text(value: object, length_max: int) -> str:
    """Provider text as PostgreSQL can store it: no NUL characters, bounded."""
    return str(value).replace("\x00", "")[:length_max]


@dataclass(frozen=True)
class ProviderNews:
    """What a webhook or a poll says about a prediction, cleaned for storage."""

    prediction_id: str
    status: str
    logs: str
    output_url: str | None
    error: str | None

    @classmethod
    def from_json(cls, data: dict) -> "ProviderNews":
        output = data.get("output")
        if isinstance(output, list):
            output = output[-1] if output else None
        if not isinstance(output, str) or not output or "\x00" in output:
            output = None
        error = data.get("error")
        return cls(
            prediction_id=_text(data.get("id") or "", 128),
            status=_text(data.get("status") or "", 32),
            logs=_text(data.get("logs") or "", 1_000_000),
            output_url=output[:4096] if output else None,
            error=_text(error, 2000) if error else None,
        )
