"""What happens to a prediction after it is created, one asyncio task per prediction.

starting -> processing (tqdm-style progress in the logs) -> succeeded | failed | canceled,
or starting -> aborted. The end is decided at creation (prompt markers, force_outcome,
then the seeded failure_rate) so a test can know it in advance.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from .config import EmulatorConfig
from .store import Prediction, utc_now
from .webhooks import EVENTS, WebhookDispatcher

# Checked in this order; "[slow]" only changes the pace and combines with any of them.
MARKERS = {"[fail]": "failed", "[cancel]": "canceled", "[abort]": "aborted", "[hang]": "hang"}
SLOW_MARKER = "[slow]"
SAMPLE_STEPS = 30  # the iteration count shown in the progress bar (Wan's default)
FAILURE_ERROR = "CUDA out of memory. Tried to allocate 2.00 GiB (emulated failure)"
_PARTIAL = " ▏▎▍▌▋▊▉"


def progress_line(current: int, total: int, elapsed_s: float) -> str:
    """One tqdm line, e.g. ` 25%|██▌       | 20/81 [00:02<00:06,  9.80it/s]`."""
    fraction = current / total
    eighths = int(fraction * 10 * 8)
    bar = "█" * (eighths // 8) + (_PARTIAL[eighths % 8] if eighths < 80 else "")
    rate = current / elapsed_s if elapsed_s > 0 and current else 0.0
    remaining = (total - current) / rate if rate else 0.0
    rate_text = f"{rate:5.2f}it/s" if rate else "?it/s"
    return (
        f"{round(fraction * 100):3d}%|{bar:<10}| {current}/{total} "
        f"[{_clock(elapsed_s)}<{_clock(remaining)}, {rate_text}]"
    )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def prompt_of(payload: dict[str, Any]) -> str:
    prompt = payload.get("prompt")
    return prompt if isinstance(prompt, str) else ""


class Lifecycle:
    def __init__(
        self,
        get_config: Callable[[], EmulatorConfig],
        dispatcher: WebhookDispatcher,
        base_url: Callable[[], str],
        lose: Callable[[Prediction], None] = lambda prediction: None,
    ) -> None:
        self._config = get_config
        self._store_lose = lose
        self._dispatcher = dispatcher
        self._base_url = base_url
        self._rng = random.Random(get_config().seed)
        self._running = asyncio.Event()  # cleared while the "paused" knob is on
        # Lifecycles waiting for the pause to lift: a test can see a job is held there
        # (instead of sleeping and hoping it would have moved otherwise).
        self.parked = 0
        self.set_paused(get_config().paused)

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._running.clear()
        else:
            self._running.set()

    def choose_outcome(self, payload: dict[str, Any]) -> str:
        prompt = prompt_of(payload)
        for marker, outcome in MARKERS.items():
            if marker in prompt:
                return outcome
        config = self._config()
        if config.force_outcome is not None:
            return config.force_outcome
        # Drawn only for unmarked predictions, so markers never shift the seeded sequence.
        return "failed" if self._rng.random() < config.failure_rate else "succeeded"

    def choose_loss(self) -> int | None:
        """The progress step at which a new prediction is lost, or None (seeded)."""
        config = self._config()
        if config.lose_rate <= 0 or self._rng.random() >= config.lose_rate:
            return None
        return self._rng.randint(0, config.progress_steps)

    def start(self, prediction: Prediction) -> None:
        self.publish(prediction, "start")
        prediction.task = asyncio.create_task(
            self._run(prediction), name=f"lifecycle-{prediction.id}"
        )

    def cancel(self, prediction: Prediction) -> None:
        """Cancel from outside (the API); a no-op on a terminal prediction, as on Replicate."""
        if prediction.terminal:
            return
        if prediction.task is not None and prediction.task is not asyncio.current_task():
            prediction.task.cancel()
        self._finish(prediction, "canceled")

    def publish(self, prediction: Prediction, event: str) -> None:
        if not prediction.webhook:
            return
        wanted = prediction.webhook_events_filter or EVENTS
        if event in wanted:
            snapshot = prediction.to_json(self._base_url())
            self._dispatcher.send(prediction.id, prediction.webhook, event, snapshot)

    async def _step(self, factor: float) -> None:
        await self._unpaused()
        await asyncio.sleep(self._config().step_delay_s * factor)
        await self._unpaused()

    async def _unpaused(self) -> None:
        if self._running.is_set():
            return
        self.parked += 1
        try:
            await self._running.wait()
        finally:
            self.parked -= 1

    async def _run(self, prediction: Prediction) -> None:
        factor = self._config().slow_factor if SLOW_MARKER in prompt_of(prediction.input) else 1.0
        await self._step(factor)  # the queue time before a worker picks it up
        if prediction.lose_at_step == 0:
            self._lose(prediction)
            return
        if prediction.outcome == "aborted":
            self._finish(prediction, "aborted")
            return
        prediction.status = "processing"
        prediction.started_at = utc_now()
        began = time.monotonic()
        prediction.logs = "Loading pipeline...\n" + progress_line(0, SAMPLE_STEPS, 0.0) + "\n"
        self.publish(prediction, "logs")
        steps = self._config().progress_steps
        stop_at = max(1, steps // 2)  # where failed/canceled/hang predictions stop progressing
        for step in range(1, steps + 1):
            await self._step(factor)
            if step == prediction.lose_at_step:
                self._lose(prediction)
                return
            current = round(step * SAMPLE_STEPS / steps)
            prediction.logs += progress_line(current, SAMPLE_STEPS, time.monotonic() - began) + "\n"
            self.publish(prediction, "logs")
            if step == stop_at and prediction.outcome in ("failed", "canceled", "hang"):
                break
        if prediction.outcome == "hang":
            await asyncio.Event().wait()  # until canceled through the API or the server stops
        if prediction.outcome == "failed":
            prediction.logs += (
                f"Traceback (most recent call last):\nRuntimeError: {FAILURE_ERROR}\n"
            )
            self._finish(prediction, "failed", error=FAILURE_ERROR)
        elif prediction.outcome == "canceled":
            self._finish(prediction, "canceled")
        else:
            prediction.output = f"{self._base_url()}/files/{prediction.id}.mp4"
            self.publish(prediction, "output")
            self._finish(prediction, "succeeded")

    def _lose(self, prediction: Prediction) -> None:
        self._store_lose(prediction)
        self._dispatcher.finish(prediction.id)

    def _finish(self, prediction: Prediction, status: str, *, error: str | None = None) -> None:
        prediction.status = status
        prediction.error = error
        prediction.completed_at = utc_now()
        if prediction.started_at is not None:
            predict = (prediction.completed_at - prediction.started_at).total_seconds()
            prediction.metrics["predict_time"] = round(predict, 6)
        total = (prediction.completed_at - prediction.created_at).total_seconds()
        prediction.metrics["total_time"] = round(total, 6)
        prediction.done.set()
        self.publish(prediction, "completed")
        self._dispatcher.finish(prediction.id)
