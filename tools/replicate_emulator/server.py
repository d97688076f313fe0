"""The Emulator object: owns the config, the store, the lifecycles, webhooks and the server."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from .app import EMULATOR, add_routes
from .config import EmulatorConfig
from .control import add_control_routes
from .errors import make_middlewares
from .lifecycle import Lifecycle
from .store import Prediction, PredictionStore
from .webhooks import WebhookDispatcher

MAX_BODY_BYTES = 10 * 1024 * 1024  # larger request bodies answer 413
SHUTDOWN_TIMEOUT_S = 2.0  # don't let a held "Prefer: wait" request stall stop()


def _url_host(host: str) -> str:
    """A host usable in URLs: wildcard binds are reached through loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.creates_unrecorded = 0  # create requests received, their job not yet stored
        self.dispatcher = WebhookDispatcher(lambda: self.config)
        self.store = PredictionStore(config.max_predictions, on_evict=self._evicted)
        self.lifecycle = Lifecycle(
            lambda: self.config, self.dispatcher, lambda: self.base_url, lose=self.store.lose
        )
        self._runner: web.AppRunner | None = None
        self._bound_url: str | None = None

    @property
    def base_url(self) -> str:
        """The URL clients use (`replicate.Client(base_url=...)`); no trailing slash."""
        if self.config.public_base_url:
            return self.config.public_base_url.rstrip("/")
        if self._bound_url is None:
            raise RuntimeError("the emulator is not started")
        return self._bound_url

    @property
    def bound_url(self) -> str:
        """Where the server actually listens (differs from base_url behind a proxy)."""
        if self._bound_url is None:
            raise RuntimeError("the emulator is not started")
        return self._bound_url

    @property
    def webhook_secret(self) -> str:
        return self.config.webhook_secret

    def update_config(self, changes: dict[str, Any]) -> EmulatorConfig:
        """Apply a partial update atomically (ValueError leaves the config untouched)."""
        self.config = self.config.updated(changes)
        self.lifecycle.set_paused(self.config.paused)
        self.store.max_predictions = self.config.max_predictions
        return self.config

    def create_prediction(self, **fields: Any) -> Prediction:
        outcome = self.lifecycle.choose_outcome(fields["input"])
        prediction = self.store.add(
            outcome=outcome, lose_at_step=self.lifecycle.choose_loss(), **fields
        )
        self.lifecycle.start(prediction)
        return prediction

    def _evicted(self, prediction: Prediction) -> None:
        self.dispatcher.forget(prediction.id)

    def build_app(self) -> web.Application:
        app = web.Application(
            client_max_size=MAX_BODY_BYTES, middlewares=make_middlewares(self.config.api_token)
        )
        app[EMULATOR] = self
        add_routes(app)
        add_control_routes(app)
        return app

    async def start(self, *, access_log: bool = False) -> None:
        runner_kwargs: dict[str, Any] = {} if access_log else {"access_log": None}
        self._runner = web.AppRunner(
            self.build_app(), shutdown_timeout=SHUTDOWN_TIMEOUT_S, **runner_kwargs
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        port = self._runner.addresses[0][1]
        self._bound_url = f"http://{_url_host(self.config.host)}:{port}"

    async def stop(self) -> None:
        """Stop serving, end every lifecycle and pending webhook; safe to call twice."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        tasks = [p.task for p in self.store.all() if p.task is not None and not p.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.dispatcher.close()

    async def __aenter__(self) -> Emulator:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def start_emulator(
    config: EmulatorConfig | None = None, *, access_log: bool = False
) -> Emulator:
    """Start an emulator on config.host:config.port (127.0.0.1, a free port by default)."""
    emulator = Emulator(config or EmulatorConfig())
    await emulator.start(access_log=access_log)
    return emulator
