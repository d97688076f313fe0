"""Replicate, through the official client. Every call names its timeout; creation is
retried within bounds and never blindly: after an ambiguous failure (the request may
have reached Replicate) it first looks for the prediction by its webhook URL."""
from __future__ import annotations

import asyncio
import logging

import httpx
import replicate
from pydantic import v1 as pydantic_v1
from replicate.exceptions import ReplicateError

log = logging.getLogger(__name__)

WEBHOOK_EVENTS = ["start", "output", "logs", "completed"]
LIST_PAGES_MAX = 5


class ProviderRefused(Exception):
    """Replicate answered that it will not run this (a 4xx other than 429)."""


class ProviderUnavailable(Exception):
    """Replicate could not be reached or kept failing; retry later."""


def _as_dict(prediction) -> dict:
    return prediction.dict()


class ReplicateProvider:
    def __init__(self, api_token: str, base_url: str, timeout_s: float,
                 create_attempts_max: int = 4, backoff_s: float = 0.5) -> None:
        timeout = httpx.Timeout(timeout_s)
        self._client = replicate.Client(api_token=api_token, base_url=base_url,
                                        timeout=timeout)
        # Raw reads: the client's model drops the webhook field (needed to find a lost
        # prediction) and rejects the API's "aborted" status.
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout,
                                       headers={"Authorization": f"Bearer {api_token}"})
        self._attempts_max = create_attempts_max
        self._backoff_s = backoff_s

    async def close(self) -> None:
        await self._http.aclose()

    async def create(self, model: str, input_: dict, webhook: str) -> dict:
        for attempt in range(1, self._attempts_max + 1):
            ambiguous = True
            try:
                prediction = await self._client.predictions.async_create(
                    model=model, input=input_, webhook=webhook,
                    webhook_events_filter=WEBHOOK_EVENTS,
                )
                return _as_dict(prediction)
            except ReplicateError as error:
                status = error.status or 0
                if 400 <= status < 500 and status != 429:
                    raise ProviderRefused(f"Replicate refused: {status} {error.detail}") from None
                ambiguous = status >= 500
                log.warning("create failed", extra={"status": status, "attempt": attempt})
            except httpx.ConnectError:
                ambiguous = False  # nothing was sent
            except (httpx.TransportError, pydantic_v1.ValidationError) as error:
                log.warning("create failed", extra={"error": type(error).__name__,
                                                     "attempt": attempt})
            if ambiguous and (found := await self.find_by_webhook(webhook)) is not None:
                return found
            if attempt < self._attempts_max:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise ProviderUnavailable(f"Replicate did not accept the job in "
                                  f"{self._attempts_max} attempts")

    async def get(self, prediction_id: str) -> dict:
        try:
            response = await self._http.get(f"/v1/predictions/{prediction_id}")
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"reading {prediction_id}: {error}") from None

    async def cancel(self, prediction_id: str) -> None:
        try:
            await self._client.predictions.async_cancel(prediction_id)
        except pydantic_v1.ValidationError:
            pass  # canceled, but answered with a status the client's model does not know
        except (ReplicateError, httpx.HTTPError) as error:
            raise ProviderUnavailable(f"canceling {prediction_id}: {error}") from None

    async def find_by_webhook(self, webhook: str) -> dict | None:
        """The recent prediction created with this webhook URL, if any (newest pages)."""
        url: str | None = "/v1/predictions"
        for _ in range(LIST_PAGES_MAX):
            if url is None:
                return None
            try:
                response = await self._http.get(url)
                response.raise_for_status()
                page = response.json()
            except (httpx.HTTPError, ValueError) as error:
                raise ProviderUnavailable(f"listing predictions: {error}") from None
            for prediction in page.get("results", []):
                if prediction.get("webhook") == webhook:
                    return prediction
            url = page.get("next")
        return None
