"""Fetching a finished job's output, from the provider's delivery hosts only.

Whoever can report a prediction (the webhook gateway's caller token) names its output
URL: fetched blindly, that would let them make this service reach any address inside
the cluster and publish the answer as a video. So the URL, and every redirect, must be
https (or http to a host listed with its port, as the local emulator is) on a host of
GENERATION_OUTPUT_HOSTS; the whole fetch has a deadline and a size bound.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

REDIRECTS_MAX = 3


class FetchError(Exception):
    """The output could not be fetched now; a later attempt may succeed."""


class OutputRefused(FetchError):
    """The output URL points where outputs never come from: no attempt will succeed."""


@dataclass(frozen=True)
class AllowedHosts:
    """Entries: "replicate.delivery", "*.replicate.delivery" (its subdomains), or
    "host:port" (that port only, http allowed: a local stand-in)."""

    entries: tuple[str, ...]

    @classmethod
    def parse(cls, value: str) -> AllowedHosts:
        return cls(tuple(e.strip().lower() for e in value.split(",") if e.strip()))

    def allows(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            return False
        if not host or parts.username or parts.password:
            return False
        for entry in self.entries:
            name, _, entry_port = entry.partition(":")
            if entry_port:
                matched = host == name and port == int(entry_port)
                if matched and parts.scheme in ("http", "https"):
                    return True
            elif parts.scheme == "https" and port in (None, 443):
                if host == name or (name.startswith("*.") and host.endswith(name[1:])):
                    return True
        return False


class OutputFetcher:
    def __init__(self, hosts: AllowedHosts, total_s: float, bytes_max: int) -> None:
        self._hosts, self._total_s, self._bytes_max = hosts, total_s, bytes_max

    async def fetch(self, url: str) -> list[bytes]:
        """The output's bytes, following at most REDIRECTS_MAX redirects on allowed hosts."""
        try:
            async with asyncio.timeout(self._total_s):
                async with httpx.AsyncClient(
                    timeout=self._total_s, follow_redirects=False
                ) as client:
                    for _ in range(REDIRECTS_MAX + 1):
                        if not self._hosts.allows(url):
                            raise OutputRefused(f"output host not allowed: {_host(url)}")
                        chunks, url = await self._one(client, url)
                        if chunks is not None:
                            return chunks
        except TimeoutError:
            raise FetchError(f"the output took longer than {self._total_s:.0f} s") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
            # ValueError and InvalidURL: an output URL that is not one (a provider's bug).
            raise FetchError(f"downloading the output: {type(error).__name__}") from None
        raise OutputRefused(f"more than {REDIRECTS_MAX} redirects")

    async def _one(self, client: httpx.AsyncClient, url: str) -> tuple[list[bytes] | None, str]:
        async with client.stream("GET", url) as response:
            if response.is_redirect:
                return None, urljoin(url, response.headers.get("location", ""))
            response.raise_for_status()
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._bytes_max:
                    raise OutputRefused(f"output larger than {self._bytes_max} bytes")
                chunks.append(chunk)
            return chunks, url


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc or "(none)"
    except ValueError:
        return "(unparseable)"
