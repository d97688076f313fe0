"""Replicate, through the official client. Every call carries its own deadline.

One create is one attempt: the flow decides about retries, because only it can check,
between two attempts, that it still owns the generation and that the first attempt
left no job behind. A create whose answer never came is *ambiguous*: the job may exist.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import httpx
import replicate
from pydantic import v1 as pydantic_v1
from replicate.exceptions import ReplicateError

log = logging.getLogger(__name__)

WEBHOOK_EVENTS = ["start", "output", "logs", "completed"]
# A lookup pages back through the account's predictions until it passes the time the
# generation was written (less this much clock skew), at most this many pages.
LOOKUP_PAGES_MAX = 50
CLOCK_SKEW = timedelta(minutes=2)


class ProviderRefused(Exception):
    """Replicate answered that it will not run this (a 4xx other than 429)."""


class ProviderUnavailable(Exception):
    """Replicate could not be reached or failed. ``ambiguous``: the request may have
    been recorded, so a job may exist."""

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class PredictionMissing(Exception):
    """Replicate answered 404 for a prediction id: it no longer knows the job."""


def _created_at(prediction: dict) -> datetime | None:
    raw = prediction.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


class ReplicateProvider:
    def __init__(self, api_token: str, base_url: str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        timeout = httpx.Timeout(timeout_s)
        self._client = replicate.Client(api_token=api_token, base_url=base_url, timeout=timeout)
        # Raw reads: the client's model drops the webhook field (needed to find a lost
        # prediction) and rejects the API's "aborted" status.
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {api_token}"}
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def create(self, model: str, input_: dict, webhook: str) -> dict:
        """One attempt. The official client sends a create without a timeout of its own
        (it passes timeout=None per request unless ``wait`` is set), so the deadline is
        ours: past it the attempt is abandoned as ambiguous."""
        try:
            async with asyncio.timeout(self.timeout_s):
                prediction = await self._client.predictions.async_create(
                    model=model,
                    input=input_,
                    webhook=webhook,
                    webhook_events_filter=WEBHOOK_EVENTS,
                )
            return prediction.dict()
        except ReplicateError as error:
            status = error.status or 0
            if 400 <= status < 500 and status != 429:
                raise ProviderRefused(f"Replicate refused: {status} {error.detail}") from None
            raise ProviderUnavailable(
                f"Replicate answered {status}", ambiguous=status >= 500
            ) from None
        except httpx.ConnectError:
            raise ProviderUnavailable("Replicate is unreachable") from None  # nothing sent
        except (TimeoutError, httpx.TransportError, pydantic_v1.ValidationError) as error:
            raise ProviderUnavailable(f"create: {type(error).__name__}", ambiguous=True) from None

    async def _read(self, method: str, url: str) -> dict:
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._http.request(method, url)
            if response.status_code == 404:
                raise PredictionMissing(url)
            response.raise_for_status()
            data = response.json()
        except (TimeoutError, httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{method} {url}: {type(error).__name__}") from None
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{method} {url}: not a JSON object")
        return data

    async def get(self, prediction_id: str) -> dict:
        return await self._read("GET", f"/v1/predictions/{prediction_id}")

    async def cancel(self, prediction_id: str) -> dict | None:
        """The prediction as the cancel left it (a finished one keeps its status), or
        None when the provider no longer knows it."""
        try:
            return await self._read("POST", f"/v1/predictions/{prediction_id}/cancel")
        except PredictionMissing:
            return None

    async def find_by_webhook(self, webhook: str, since: datetime) -> list[dict]:
        """Every prediction created with this webhook URL since ``since``, oldest first.

        Pages back from the newest until the predictions are older than ``since`` (the
        job cannot be older than its generation), so the answer is complete, not just
        the newest page's. Raises ProviderUnavailable when it cannot tell.
        """
        found: list[dict] = []
        url: str | None = "/v1/predictions"
        for _ in range(LOOKUP_PAGES_MAX):
            if url is None:
                return found[::-1]
            page = await self._read("GET", url)
            results = page.get("results") or []
            for prediction in results:
                if isinstance(prediction, dict) and prediction.get("webhook") == webhook:
                    found.append(prediction)
            oldest = _created_at(results[-1]) if results else None
            if oldest is not None and oldest < since - CLOCK_SKEW:
                return found[::-1]
            url = page.get("next")
        raise ProviderUnavailable("lookup: too many pages to search")
