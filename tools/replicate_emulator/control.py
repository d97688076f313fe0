"""The emulator's own control API under /_emulator (no API token; loopback callers only).

Tests running in another process (the services under `make run`, e2e tests) use it to
turn knobs and to see which webhooks were sent.
"""

from __future__ import annotations

import json

from aiohttp import web

from .app import EMULATOR
from .errors import problem


async def get_config(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[EMULATOR].config.to_dict())


async def post_config(request: web.Request) -> web.StreamResponse:
    emu = request.app[EMULATOR]
    try:
        changes = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return problem(400, "The request body is not valid JSON.")
    if not isinstance(changes, dict):
        return problem(400, "Send a JSON object of config fields to change.")
    try:
        emu.update_config(changes)
    except ValueError as exc:
        return problem(400, str(exc), title="Invalid config")
    return web.json_response(emu.config.to_dict())


async def get_deliveries(request: web.Request) -> web.StreamResponse:
    emu = request.app[EMULATOR]
    prediction_id = request.match_info["prediction_id"]
    prediction = emu.store.get(prediction_id)
    if prediction is None:
        return problem(404, "The requested prediction could not be found.")
    sent = emu.dispatcher.deliveries(prediction_id) or {
        "url": prediction.webhook,
        "pending": 0,
        "held": False,
        "deliveries": [],
    }
    return web.json_response({"prediction_id": prediction_id, "status": prediction.status, **sent})


async def all_predictions(request: web.Request) -> web.StreamResponse:
    """Every prediction ever made here, lost and forgotten ones too (for audits)."""
    emu = request.app[EMULATOR]
    return web.json_response(
        {
            "predictions": [
                {
                    "id": p.id,
                    "webhook": p.webhook,
                    "status": p.status,
                    "lost": p.lost,
                    "model": p.model,
                    "created_at": p.created_at.isoformat(),
                }
                for p in emu.store.history.values()
            ]
        }
    )


async def health(request: web.Request) -> web.StreamResponse:
    emu = request.app[EMULATOR]
    return web.json_response({"ok": True, "predictions": len(emu.store)})


def add_control_routes(app: web.Application) -> None:
    app.router.add_get("/_emulator/health", health)
    app.router.add_get("/_emulator/config", get_config)
    app.router.add_post("/_emulator/config", post_config)
    app.router.add_get("/_emulator/predictions/{prediction_id}/deliveries", get_deliveries)
    app.router.add_get("/_emulator/predictions", all_predictions)
