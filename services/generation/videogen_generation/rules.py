"""What a generation request may ask for. Standard library only."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlparse

from videogen_common import media_urls
from videogen_common.contract import IMAGE_BYTES_MAX
from videogen_common.errors import FieldViolation, InvalidArgument

from .catalog import Catalog, Offer, Task

PROMPT_LENGTH_MIN, PROMPT_LENGTH_MAX = 10, 500
NEGATIVE_PROMPT_LENGTH_MAX = 200
DURATION_S_MIN, DURATION_S_MAX = 1, 10
SEED_MIN, SEED_MAX = 0, 2**31 - 1
IMAGE_URL_LENGTH_MAX = 2048
# NUL cannot be stored in PostgreSQL text; other control characters have no place in a
# prompt or a URL either (tab, newline and carriage return are allowed in prompts).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def check_request(
    request: Request, catalog: Catalog, own_url_prefix: str = ""
) -> tuple[Offer, Request]:
    """The offer to charge for, and the request with its text trimmed; or every problem.

    ``own_url_prefix``: image URLs under it name our own stored uploads; which user's
    they are is for the caller to check (``media_urls.input_of``).
    """
    found: list[FieldViolation] = []
    prompt = request.prompt.strip()
    negative = request.negative_prompt.strip()
    if _CONTROL.search(prompt):
        found.append(FieldViolation("prompt", "must not contain control characters"))
    elif not PROMPT_LENGTH_MIN <= len(prompt) <= PROMPT_LENGTH_MAX:
        found.append(
            FieldViolation(
                "prompt", f"must be {PROMPT_LENGTH_MIN} to {PROMPT_LENGTH_MAX} characters"
            )
        )
    if _CONTROL.search(negative):
        found.append(FieldViolation("negative_prompt", "must not contain control characters"))
    elif len(negative) > NEGATIVE_PROMPT_LENGTH_MAX:
        found.append(
            FieldViolation(
                "negative_prompt", f"must be at most {NEGATIVE_PROMPT_LENGTH_MAX} characters"
            )
        )
    if not DURATION_S_MIN <= request.duration_s <= DURATION_S_MAX:
        found.append(
            FieldViolation("duration", f"must be {DURATION_S_MIN} to {DURATION_S_MAX} seconds")
        )
    if request.seed is not None and not SEED_MIN <= request.seed <= SEED_MAX:
        found.append(FieldViolation("seed", f"must be {SEED_MIN} to {SEED_MAX}"))
    offer = _offer(request, catalog, found)
    if offer is not None:
        _check_image(request, offer.task, found, own_url_prefix)
    if found:
        raise InvalidArgument.of(*found)
    assert offer is not None
    image_url = request.image_url
    if image_url and own_url_prefix:
        relative = media_urls.relative_of(image_url, own_url_prefix)
        if relative is not None:  # kept without the link's signature, which expires
            image_url = f"{own_url_prefix}/{relative}"
    trimmed = Request(
        request.user_id,
        request.model,
        request.resolution,
        prompt,
        negative,
        request.duration_s,
        request.seed,
        image_url,
        request.image_bytes,
    )
    return offer, trimmed


def _offer(request: Request, catalog: Catalog, found: list[FieldViolation]) -> Offer | None:
    if catalog.task_of(request.model) is None:
        found.append(FieldViolation("model", f"must be one of {', '.join(catalog.models())}"))
        return None
    offer = catalog.find(request.model, request.resolution)
    if offer is None:
        offered = ", ".join(catalog.resolutions(request.model))
        found.append(FieldViolation("resolution", f"{request.model} is offered in {offered} only"))
    return offer


def _check_image(
    request: Request, task: Task, found: list[FieldViolation], own_url_prefix: str
) -> None:
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
        if _CONTROL.search(url) or any(c.isspace() for c in url):
            found.append(
                FieldViolation("image_url", "must not contain control characters or spaces")
            )
            return
        if own_url_prefix and url.startswith(own_url_prefix + "/"):
            # Ours: only an uploaded image, and the service checks whose it is.
            if media_urls.input_of(url, own_url_prefix) is None:
                found.append(FieldViolation("image_url", "names no uploaded image of ours"))
            return
        try:
            parsed = urlparse(url)
            host = parsed.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            parsed, host = None, None
        if (
            len(url) > IMAGE_URL_LENGTH_MAX
            or parsed is None
            or parsed.scheme != "https"
            or not host
        ):
            found.append(FieldViolation("image_url", "must be an https URL"))


def check_user_id(value: str) -> None:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument.of(FieldViolation("user_id", "must be a UUID")) from None
