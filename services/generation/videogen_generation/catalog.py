"""What can be generated, at what price, and how each offer maps to a provider model.

Prices are the seed system's; every other combination is refused, never priced by
default. The provider mapping is configuration: model pages change their schemas.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Task(str, enum.Enum):
    TEXT_TO_VIDEO = "TEXT_TO_VIDEO"
    IMAGE_TO_VIDEO = "IMAGE_TO_VIDEO"


@dataclass(frozen=True)
class Offer:
    model: str
    resolution: str
    task: Task
    price: int
    provider_model: str  # owner/name on Replicate
    frames_input: str = "num_frames"
    frames_per_second: int = 16
    frames_min: int = 81
    frames_max: int = 100
    # Some models take only 4n+1 frames.
    frames_multiple_of_4_plus_1: bool = False
    image_input: str = "image"
    aspect_ratio: str = "16:9"


DEFAULT_OFFERS: tuple[Offer, ...] = (
    Offer("t2v-14B", "480p", Task.TEXT_TO_VIDEO, 10, "wavespeedai/wan-2.1-t2v-480p"),
    Offer("t2v-14B", "720p", Task.TEXT_TO_VIDEO, 20, "wavespeedai/wan-2.1-t2v-720p"),
    Offer(
        "t2v-1.3B",
        "480p",
        Task.TEXT_TO_VIDEO,
        5,
        "wan-video/wan-2.1-1.3b",
        frames_input="frame_num",
        frames_min=17,
        frames_max=81,
        frames_multiple_of_4_plus_1=True,
    ),
    Offer("i2v-14B", "480p", Task.IMAGE_TO_VIDEO, 15, "wavespeedai/wan-2.1-i2v-480p"),
    Offer("i2v-14B", "720p", Task.IMAGE_TO_VIDEO, 25, "wavespeedai/wan-2.1-i2v-720p"),
)


class Catalog:
    def __init__(self, offers: tuple[Offer, ...] = DEFAULT_OFFERS) -> None:
        self.offers = offers
        self._by_key = {(o.model, o.resolution): o for o in offers}
        assert len(self._by_key) == len(offers), "one offer per model and resolution"

    def find(self, model: str, resolution: str) -> Offer | None:
        return self._by_key.get((model, resolution))

    def models(self) -> list[str]:
        return sorted({o.model for o in self.offers})

    def resolutions(self, model: str) -> list[str]:
        return sorted(o.resolution for o in self.offers if o.model == model)

    def task_of(self, model: str) -> Task | None:
        for offer in self.offers:
            if offer.model == model:
                return offer.task
        return None


def frames_for(offer: Offer, duration_s: int) -> int:
    """Seconds to frames at the model's rate, kept within what the model accepts."""
    frames = min(max(duration_s * offer.frames_per_second, offer.frames_min), offer.frames_max)
    if offer.frames_multiple_of_4_plus_1:
        frames -= (frames - 1) % 4
    return frames


def provider_input(
    offer: Offer,
    prompt: str,
    negative_prompt: str,
    duration_s: int,
    seed: int | None,
    image_url: str | None,
) -> dict[str, object]:
    values: dict[str, object] = {
        "prompt": prompt,
        offer.frames_input: frames_for(offer, duration_s),
        "aspect_ratio": offer.aspect_ratio,
    }
    if negative_prompt:
        values["negative_prompt"] = negative_prompt
    if seed is not None:
        values["seed"] = seed
    if image_url:
        values[offer.image_input] = image_url
    return values
