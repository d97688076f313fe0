"""Request checks, the state machine and progress. Standard library only."""
from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from videogen_common.errors import FieldViolation, InvalidArgument

from .catalog import Catalog, Offer, Task

PROMPT_LENGTH_MIN, PROMPT_LENGTH_MAX = 10, 500
NEGATIVE_PROMPT_LENGTH_MAX = 200
DURATION_S_MIN, DURATION_S_MAX = 1, 10
SEED_MIN, SEED_MAX = 0, 2**31 - 1
IMAGE_BYTES_MAX = 10 * 1024 * 1024
IMAGE_URL_LENGTH_MAX = 2048
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")


class Status(str, enum.Enum):
    QUEUED = "queued"
    STARTING = "starting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def refundable(self) -> bool:
        """Terminal states whose charge goes back to the user."""
        return self in (Status.FAILED, Status.CANCELED, Status.TIMED_OUT)


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED, Status.TIMED_OUT,
                      Status.REJECTED})
_RANK = {Status.QUEUED: 0, Status.STARTING: 1, Status.PROCESSING: 2}

# Replicate's statuses; "aborted" exists in the API though the client's model omits it.
PROVIDER_STATUS = {
    "starting": Status.STARTING,
    "processing": Status.PROCESSING,
    "succeeded": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "canceled": Status.CANCELED,
    "aborted": Status.FAILED,
}


def may_move(current: Status, new: Status) -> bool:
    """Forward only: queued → starting → processing → one terminal state, never back."""
    if current.terminal:
        return False
    if new.terminal:
        return True
    return _RANK[new] > _RANK[current]


_PERCENT = re.compile(r"(\d{1,3})%\|")


def progress_from_logs(logs: str, previous: int, status: Status) -> int:
    """The last tqdm percentage in the logs; never backwards; 100 only on success."""
    if status is Status.SUCCEEDED:
        return 100
    found = [int(p) for p in _PERCENT.findall(logs or "") if int(p) <= 100]
    latest = min(found[-1], 99) if found else 0
    return max(previous, latest)


def image_type(data: bytes) -> str | None:
    """Judge by content, not by name."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Request:
    user_id: str
    model: str
    resolution: str
    prompt: str
    negative_prompt: str
    duration_s: int
    seed: int | None
    image_url: str | None
    image_bytes: bytes | None


def check_request(request: Request, catalog: Catalog,
                  own_url_prefix: str = "") -> tuple[Offer, Request]:
    """The offer to charge for, and the request with its text trimmed; or every problem.

    ``own_url_prefix``: image URLs under it are our own stored uploads (a retry), trusted.
    """
    found: list[FieldViolation] = []
    prompt = request.prompt.strip()
    negative = request.negative_prompt.strip()
    if not PROMPT_LENGTH_MIN <= len(prompt) <= PROMPT_LENGTH_MAX:
        found.append(FieldViolation(
            "prompt", f"must be {PROMPT_LENGTH_MIN} to {PROMPT_LENGTH_MAX} characters"))
    if len(negative) > NEGATIVE_PROMPT_LENGTH_MAX:
        found.append(FieldViolation(
            "negative_prompt", f"must be at most {NEGATIVE_PROMPT_LENGTH_MAX} characters"))
    if not DURATION_S_MIN <= request.duration_s <= DURATION_S_MAX:
        found.append(FieldViolation(
            "duration", f"must be {DURATION_S_MIN} to {DURATION_S_MAX} seconds"))
    if request.seed is not None and not SEED_MIN <= request.seed <= SEED_MAX:
        found.append(FieldViolation("seed", f"must be {SEED_MIN} to {SEED_MAX}"))
    offer = _offer(request, catalog, found)
    if offer is not None:
        _check_image(request, offer.task, found, own_url_prefix)
    if found:
        raise InvalidArgument.of(*found)
    assert offer is not None
    trimmed = Request(request.user_id, request.model, request.resolution, prompt, negative,
                      request.duration_s, request.seed, request.image_url,
                      request.image_bytes)
    return offer, trimmed


def _offer(request: Request, catalog: Catalog, found: list[FieldViolation]) -> Offer | None:
    if catalog.task_of(request.model) is None:
        found.append(FieldViolation("model", f"must be one of {', '.join(catalog.models())}"))
        return None
    offer = catalog.find(request.model, request.resolution)
    if offer is None:
        offered = ", ".join(catalog.resolutions(request.model))
        found.append(FieldViolation(
            "resolution", f"{request.model} is offered in {offered} only"))
    return offer


def _check_image(request: Request, task: Task, found: list[FieldViolation],
                 own_url_prefix: str) -> None:
    has_image = bool(request.image_url) or request.image_bytes is not None
    if task is Task.TEXT_TO_VIDEO:
        if has_image:
            found.append(FieldViolation("image", "text-to-video models take no image"))
        return
    if not has_image:
        found.append(FieldViolation("image", "image-to-video needs image_url or an image"))
    elif request.image_bytes is not None:
        if len(request.image_bytes) > IMAGE_BYTES_MAX:
            found.append(FieldViolation("image", "must be at most 10 MB"))
        elif image_type(request.image_bytes) is None:
            found.append(FieldViolation("image", "must be a PNG, JPEG or WebP image"))
    else:
        url = request.image_url or ""
        if own_url_prefix and url.startswith(own_url_prefix + "/"):
            return
        try:
            parsed = urlparse(url)
            host = parsed.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            parsed, host = None, None
        if len(url) > IMAGE_URL_LENGTH_MAX or parsed is None or parsed.scheme != "https" \
                or not host:
            found.append(FieldViolation("image_url", "must be an https URL"))


def check_user_id(value: str) -> None:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument.of(FieldViolation("user_id", "must be a UUID")) from None
