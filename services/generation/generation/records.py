"""The generation as the service sees it, and provider news about it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .rules import Status


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
    charge: str
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


@dataclass(frozen=True)
class ProviderNews:
    """What a webhook or a poll says about a prediction."""

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
        if output is not None and not isinstance(output, str):
            output = None
        return cls(
            prediction_id=str(data.get("id") or ""),
            status=str(data.get("status") or ""),
            logs=str(data.get("logs") or ""),
            output_url=output,
            error=str(data["error"]) if data.get("error") else None,
        )
