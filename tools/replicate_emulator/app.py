"""Replicate's public HTTP API (the part the service uses), plus the output files."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from .errors import invalid, problem
from .store import StoreFull, decode_cursor
from .webhooks import EVENTS

if TYPE_CHECKING:
    from .server import Emulator

SAMPLE_MP4 = Path(__file__).parent / "assets" / "sample.mp4"
EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_MAX_WAIT_S = 60  # Replicate holds a "Prefer: wait" request for at most 60 s


def _emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()  # over client_max_size raises 413, turned into JSON
    except (json.JSONDecodeError, UnicodeDecodeError):
        return problem(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return invalid("The request body must be a JSON object.")
    return body


def _check_common(body: dict[str, Any]) -> web.Response | None:
    """Validate the fields shared by both create endpoints; None when all is well."""
    if not isinstance(body.get("input"), dict):
        return invalid("input is required and must be an object", "input")
    for key in ("webhook", "webhook_completed"):
        url = body.get(key)
        if url is None:
            continue
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return invalid(f"{key} must be an http(s) URL", key)
    events = body.get("webhook_events_filter")
    if events is not None and (
        not isinstance(events, list) or not all(e in EVENTS for e in events)
    ):
        return invalid(
            f"webhook_events_filter values must be among {list(EVENTS)}",
            "webhook_events_filter",
        )
    return None


def _parse_version(version: Any, default_model: str) -> tuple[str, str] | None:
    """(model, version) from "id", "owner/name" or "owner/name:id"; None if malformed."""
    if (
        not isinstance(version, str)
        or not version
        or len(version) > 200
        or any(c.isspace() for c in version)
    ):
        return None
    ref, _, version_id = version.partition(":")
    if "/" not in ref:
        return (default_model, version) if not version_id else None
    owner, _, name = ref.partition("/")
    if not (_NAME.match(owner) and _NAME.match(name)):
        return None
    return f"{owner}/{name}", version_id or "hidden"


async def _create(request: web.Request, model: str | None) -> web.StreamResponse:
    emu = _emulator(request)
    config = emu.config
    if config.create_error_count > 0:
        emu.update_config({"create_error_count": config.create_error_count - 1})
        return _injected_error(config.create_error_status, config.create_retry_after_s)
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    failure = _check_common(body)
    if failure is not None:
        return failure
    if model is None:
        parsed = _parse_version(body.get("version"), config.default_model)
        if parsed is None:
            return problem(
                422,
                "Invalid version or not permitted",
                title="Invalid version",
                invalid_fields=[
                    {
                        "type": "invalid",
                        "field": "version",
                        "description": "Invalid version or not permitted",
                    }
                ],
            )
        model, version = parsed
    else:
        version = "hidden"  # what Replicate reports for predictions made through a model
    # Counted until recorded, so a test can tell no create is still on its way in.
    emu.creates_unrecorded += 1
    try:
        if config.create_record_delay_s > 0:
            await asyncio.sleep(config.create_record_delay_s)
        webhook = body.get("webhook")
        events = body.get("webhook_events_filter")
        if webhook is None and body.get("webhook_completed") is not None:
            webhook, events = body["webhook_completed"], ["completed"]  # the legacy field
        try:
            prediction = emu.create_prediction(
                model=model,
                version=version,
                input=body["input"],
                webhook=webhook,
                webhook_events_filter=events,
            )
        except StoreFull:
            return problem(
                429, "Too many predictions are still running.", headers={"Retry-After": "1"}
            )
    finally:
        emu.creates_unrecorded -= 1
    wait_s = _prefer_wait(request.headers.get("Prefer", ""))
    if wait_s:
        try:
            await asyncio.wait_for(asyncio.shield(prediction.done.wait()), timeout=wait_s)
        except TimeoutError:
            pass
    if config.create_delay_s > 0:
        # After the prediction exists: models a slow answer the caller may give up on.
        await asyncio.sleep(config.create_delay_s)
    if emu.config.create_error_after_record_count > 0:
        # The job was recorded and runs; only the answer says otherwise (an ambiguous
        # failure the caller must resolve by looking the prediction up).
        emu.update_config(
            {"create_error_after_record_count": emu.config.create_error_after_record_count - 1}
        )
        return _injected_error(config.create_error_status, config.create_retry_after_s)
    return web.json_response(prediction.to_json(emu.base_url), status=201)


def _injected_error(status: int, retry_after_s: int) -> web.Response:
    headers = {"Retry-After": str(retry_after_s)} if status in (429, 503) else None
    detail = {
        422: "Injected validation failure (emulator create_error_count).",
        429: f"Request was throttled. Expected available in {retry_after_s} second(s).",
    }.get(status, "Injected server error (emulator create_error_count).")
    return problem(status, detail, headers=headers)


def _prefer_wait(header: str) -> int:
    """Seconds asked for by "Prefer: wait" / "Prefer: wait=N", 0 when absent."""
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "wait":
            return min(int(value), _MAX_WAIT_S) if value.strip().isdigit() else _MAX_WAIT_S
    return 0


async def create_with_version(request: web.Request) -> web.StreamResponse:
    return await _create(request, None)


async def create_with_model(request: web.Request) -> web.StreamResponse:
    owner, name = request.match_info["owner"], request.match_info["name"]
    if not (_NAME.match(owner) and _NAME.match(name)):
        return problem(404, "The requested model could not be found.")
    return await _create(request, f"{owner}/{name}")


async def get_prediction(request: web.Request) -> web.StreamResponse:
    emu = _emulator(request)
    prediction = emu.store.get(request.match_info["prediction_id"])
    if prediction is None:
        return problem(404, "The requested prediction could not be found.")
    return web.json_response(prediction.to_json(emu.base_url))


async def cancel_prediction(request: web.Request) -> web.StreamResponse:
    emu = _emulator(request)
    prediction = emu.store.get(request.match_info["prediction_id"])
    if prediction is None:
        return problem(404, "The requested prediction could not be found.")
    emu.lifecycle.cancel(prediction)
    return web.json_response(prediction.to_json(emu.base_url))


async def list_predictions(request: web.Request) -> web.StreamResponse:
    emu = _emulator(request)
    if emu.config.list_error_count > 0:
        emu.update_config({"list_error_count": emu.config.list_error_count - 1})
        return problem(500, "Injected server error (emulator list_error_count).")
    raw = request.query.get("cursor")
    cursor = decode_cursor(raw) if raw else None
    if raw and cursor is None:
        return problem(400, "The cursor is not valid.")
    items, older, newer = emu.store.page(cursor, emu.config.page_size)
    link = f"{emu.base_url}/v1/predictions?cursor="
    return web.json_response(
        {
            "previous": link + newer if newer else None,
            "next": link + older if older else None,
            "results": [p.to_json(emu.base_url) for p in items],
        }
    )


async def webhook_secret(request: web.Request) -> web.StreamResponse:
    return web.json_response({"key": _emulator(request).config.webhook_secret})


async def output_file(request: web.Request) -> web.StreamResponse:
    # Unauthenticated like Replicate's delivery URLs; served only for real outputs.
    prediction = _emulator(request).store.get(request.match_info["prediction_id"])
    if prediction is None or prediction.status != "succeeded":
        return problem(404, "No such file.")
    return web.FileResponse(SAMPLE_MP4, headers={"Content-Type": "video/mp4"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/predictions", create_with_version)
    app.router.add_get("/v1/predictions", list_predictions)
    app.router.add_get("/v1/predictions/{prediction_id}", get_prediction)
    app.router.add_post("/v1/predictions/{prediction_id}/cancel", cancel_prediction)
    app.router.add_post("/v1/models/{owner}/{name}/predictions", create_with_model)
    app.router.add_get("/v1/webhooks/default/secret", webhook_secret)
    app.router.add_get("/files/{prediction_id}.mp4", output_file)
