"""Webhook delivery, signed with Standard Webhooks the way Replicate signs them.

Each prediction gets one queue and one worker, so its messages go out in order (a
message's retries finish before the next message starts) unless `webhook_reorder` asks
otherwise. Every attempt is recorded so tests can ask what was sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from standardwebhooks import Webhook

from .config import EmulatorConfig

log = logging.getLogger("replicate_emulator.webhooks")

EVENTS = ("start", "output", "logs", "completed")
MAX_RECORDS_PER_PREDICTION = 1000  # deliveries kept for the control API
MAX_QUEUED_PER_PREDICTION = 1000  # bounds memory if a receiver is down for long


@dataclass
class Message:
    webhook_id: str  # unchanged across retries and duplicates of this message
    event: str
    status: str  # the prediction status the body carries
    body: str  # serialized once, so every attempt signs and sends the same bytes

    @property
    def terminal(self) -> bool:
        return self.event == "completed"


class _Channel:
    """One prediction's ordered outbox."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(MAX_QUEUED_PER_PREDICTION)
        self.records: list[dict[str, Any]] = []
        self.worker: asyncio.Task[None] | None = None
        self.held: Message | None = None  # the update kept back by webhook_reorder


class WebhookDispatcher:
    def __init__(self, get_config: Callable[[], EmulatorConfig]) -> None:
        self._config = get_config
        self._signer = Webhook(get_config().webhook_secret)
        self._session: aiohttp.ClientSession | None = None
        self._channels: dict[str, _Channel] = {}
        seed = get_config().seed
        self._rng = random.Random(seed if seed is None else seed + 1)
        self._replays: set[asyncio.Task[None]] = set()

    def _session_for_send(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def send(self, prediction_id: str, url: str, event: str, snapshot: dict[str, Any]) -> None:
        """Queue one message (never blocks: a full outbox drops and records it)."""
        channel = self._channels.get(prediction_id)
        if channel is None:
            channel = self._channels[prediction_id] = _Channel(url)
        message = Message(
            webhook_id=f"msg_{secrets.token_hex(12)}",
            event=event,
            status=snapshot["status"],
            body=json.dumps(snapshot),
        )
        try:
            channel.queue.put_nowait(message)
        except asyncio.QueueFull:
            self._record(channel, message, copy=0, attempt=0, outcome="dropped_queue_full")
            return
        if channel.worker is None or channel.worker.done():
            channel.worker = asyncio.create_task(
                self._run(channel), name=f"webhooks-{prediction_id}"
            )

    def finish(self, prediction_id: str) -> None:
        """No more messages for this prediction: let its worker end after the queue."""
        channel = self._channels.get(prediction_id)
        if channel is None or channel.worker is None or channel.worker.done():
            return
        try:
            channel.queue.put_nowait(None)
        except asyncio.QueueFull:
            pass  # the worker still ends through its idle timeout

    def forget(self, prediction_id: str) -> None:
        channel = self._channels.pop(prediction_id, None)
        if channel is not None and channel.worker is not None:
            channel.worker.cancel()

    def deliveries(self, prediction_id: str) -> dict[str, Any] | None:
        channel = self._channels.get(prediction_id)
        if channel is None:
            return None
        busy = channel.worker is not None and not channel.worker.done()
        return {
            "url": channel.url,
            "pending": channel.queue.qsize() + int(busy),
            "held": channel.held is not None,
            "deliveries": list(channel.records),
        }

    async def close(self) -> None:
        workers = [c.worker for c in self._channels.values() if c.worker is not None]
        workers += list(self._replays)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self, channel: _Channel) -> None:
        while True:
            try:
                # Idle workers end after a while; send() starts a new one when needed.
                message = await asyncio.wait_for(channel.queue.get(), timeout=30.0)
            except TimeoutError:
                message = None
            if message is not None:
                await self._dispatch(channel, message)
                continue
            if channel.held is not None:
                held, channel.held = channel.held, None
                await self._deliver(channel, held)
            # send() only starts a worker when none is alive, so leave only when nothing
            # arrived meanwhile; there is no await between this check and the return.
            if channel.queue.empty():
                return

    async def _dispatch(self, channel: _Channel, message: Message) -> None:
        """Apply webhook_reorder: keep back the latest update until the terminal one passes it."""
        if not self._config().webhook_reorder:
            if channel.held is not None:
                held, channel.held = channel.held, None
                await self._deliver(channel, held)
            await self._deliver(channel, message)
        elif message.terminal:
            await self._deliver(channel, message)
            if channel.held is not None:
                held, channel.held = channel.held, None
                await self._deliver(channel, held)
        elif message.event == "start":
            await self._deliver(channel, message)
        else:
            previous, channel.held = channel.held, message
            if previous is not None:
                await self._deliver(channel, previous)

    async def _deliver(self, channel: _Channel, message: Message) -> None:
        config = self._config()
        if config.webhook_drop_all or self._rng.random() < config.webhook_drop_rate:
            self._record(channel, message, copy=0, attempt=0, outcome="dropped")
            return
        if config.webhook_delay_s > 0:
            await asyncio.sleep(config.webhook_delay_s)
        for copy in range(1 + config.webhook_duplicates):
            await self._deliver_with_retries(channel, message, copy)
        if config.webhook_replay_rate > 0 and self._rng.random() < config.webhook_replay_rate:
            self._replays.add(task := asyncio.create_task(self._replay(channel, message)))
            task.add_done_callback(self._replays.discard)

    async def _replay(self, channel: _Channel, message: Message) -> None:
        """The same message as if captured long ago and sent again: its old timestamp,
        signed for that timestamp. A receiver must refuse it as stale."""
        config = self._config()
        await asyncio.sleep(config.webhook_backoff_base_s)
        signed_at = datetime.now(UTC) - timedelta(seconds=config.webhook_replay_age_s)
        status, error = await self._post(
            channel.url, message, config.webhook_timeout_s, signed_at=signed_at
        )
        self._record(
            channel,
            message,
            copy=0,
            attempt=1,
            outcome="replayed_stale",
            http_status=status,
            error=error,
        )

    async def _deliver_with_retries(self, channel: _Channel, message: Message, copy: int) -> None:
        config = self._config()
        for attempt in range(1, config.webhook_max_attempts + 1):
            status, error = await self._post(channel.url, message, config.webhook_timeout_s)
            ok = status is not None and 200 <= status < 300
            self._record(
                channel,
                message,
                copy=copy,
                attempt=attempt,
                outcome="delivered" if ok else "failed",
                http_status=status,
                error=error,
            )
            if ok:
                return
            if attempt < config.webhook_max_attempts:
                backoff = config.webhook_backoff_base_s * 2 ** (attempt - 1)
                await asyncio.sleep(min(backoff, config.webhook_backoff_max_s))
        log.warning(
            "webhook %s (%s) to %s gave up after %d attempts",
            message.webhook_id,
            message.event,
            channel.url,
            config.webhook_max_attempts,
        )

    async def _post(
        self, url: str, message: Message, timeout_s: float, *, signed_at: datetime | None = None
    ) -> tuple[int | None, str | None]:
        # Signed per attempt with the attempt's time, as Standard Webhooks senders do, so a
        # late retry still passes the receiver's timestamp tolerance; the id never changes.
        now = signed_at or datetime.now(UTC)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "replicate-emulator-webhooks/1.0",
            "webhook-id": message.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._signer.sign(message.webhook_id, now, message.body),
        }
        try:
            async with self._session_for_send().post(
                url,
                data=message.body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=False,
            ) as response:
                await response.read()
                return response.status, None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300]

    def _record(
        self,
        channel: _Channel,
        message: Message,
        *,
        copy: int,
        attempt: int,
        outcome: str,
        http_status: int | None = None,
        error: str | None = None,
    ) -> None:
        if len(channel.records) >= MAX_RECORDS_PER_PREDICTION:
            return
        channel.records.append(
            {
                "webhook_id": message.webhook_id,
                "event": message.event,
                "prediction_status": message.status,
                "copy": copy,
                "attempt": attempt,
                "outcome": outcome,
                "http_status": http_status,
                "error": error,
                "at": time.time(),
            }
        )
