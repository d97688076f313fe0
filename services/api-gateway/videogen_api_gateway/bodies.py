"""Request bodies: types and defaults as the seed's API had them; ranges are the
generation service's to judge (it names each bad field, and we pass that on)."""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from videogen_common.contract import IMAGE_BYTES_MAX
from videogen_common.errors import FieldViolation, InvalidArgument

DEFAULTS = {
    "text-to-video": {"model": "t2v-14B", "resolution": "720p", "duration": 5},
    "image-to-video": {"model": "i2v-14B", "resolution": "720p", "duration": 5},
}
TYPES = {
    "prompt": str,
    "negative_prompt": str,
    "model": str,
    "resolution": str,
    "duration": int,
    "seed": int,
    "image_url": str,
}
OPTIONAL = {"negative_prompt", "seed", "image_url"}
# What the message's fields can carry (duration_s is an int32, seed an int64): beyond
# that, protobuf refuses the value, so it is the caller's error here, not a crash.
WIRE_MAX = {"duration": 2**31 - 1, "seed": 2**63 - 1}


def _typed(data: dict, found: list[FieldViolation]) -> dict:
    values = {}
    for name, kind in TYPES.items():
        value = data.get(name)
        if value is None:
            if name == "prompt":
                found.append(FieldViolation(name, "field required"))
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            found.append(
                FieldViolation(name, f"must be a{'n integer' if kind is int else ' string'}")
            )
            continue
        if isinstance(value, str) and not is_text(value):
            found.append(FieldViolation(name, "must be valid Unicode text"))
            continue
        if name in WIRE_MAX and not -WIRE_MAX[name] <= value <= WIRE_MAX[name]:
            found.append(FieldViolation(name, "is out of range"))
            continue
        values[name] = value
    return values


def generation_fields(data: object, task: str) -> dict:
    if not isinstance(data, dict):
        raise InvalidArgument.of(FieldViolation("body", "must be a JSON object"))
    found: list[FieldViolation] = []
    values = {**DEFAULTS[task], **_typed(data, found)}
    if task == "text-to-video" and "image_url" in values:
        found.append(FieldViolation("image_url", "text-to-video takes no image"))
    if found:
        raise InvalidArgument.of(*found)
    return values


async def _multipart(request: web.Request) -> tuple[dict, bytes | None]:
    try:
        return await _read_parts(request)
    except (HttpProcessingError, ValueError, LookupError, RuntimeError):
        # Malformed part headers, a missing boundary, an unknown charset or encoding.
        raise InvalidArgument.of(
            FieldViolation("body", "is not valid multipart/form-data")
        ) from None


async def _read_parts(request: web.Request) -> tuple[dict, bytes | None]:
    data: dict[str, object] = {}
    image = None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):  # a nested multipart
            raise ValueError("nested multipart")
        if part.name == "image":
            image = bytes(await part.read(decode=False))
            if len(image) > IMAGE_BYTES_MAX:
                raise InvalidArgument.of(FieldViolation("image", "must be at most 10 MB"))
        elif part.name in TYPES:
            text = (await part.text())[:10_000]
            data[part.name] = _number(text) if TYPES[part.name] is int else text
    return data, image


def _number(text: str) -> object:
    try:
        return int(text.strip())
    except ValueError:
        return text


def is_text(text: str) -> bool:
    """JSON may carry lone surrogates ("\\ud800"); protobuf strings cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _json(request: web.Request) -> object:
    try:
        return await request.json()
    except (ValueError, LookupError):  # bad JSON, or an unknown charset
        raise InvalidArgument.of(FieldViolation("body", "is not valid JSON")) from None


async def read_generation(request: web.Request, task: str) -> tuple[dict, bytes | None]:
    data: object
    if request.content_type.startswith("multipart/") and task == "image-to-video":
        data, image = await _multipart(request)
    else:
        data, image = await _json(request), None
    fields = generation_fields(data, task)
    if task == "image-to-video" and image is None and "image_url" not in fields:
        raise InvalidArgument.of(
            FieldViolation("image_url", "image_url or an image file is required")
        )
    return fields, image


async def read_json_object(request: web.Request) -> dict:
    data = await _json(request)
    if not isinstance(data, dict):
        raise InvalidArgument.of(FieldViolation("body", "must be a JSON object"))
    return data
