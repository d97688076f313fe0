"""Output fetches against real HTTP servers on loopback: only allowed hosts, redirects
included, within the size and the deadline."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from videogen_common.service_main import start_site
from videogen_generation.output_fetch import AllowedHosts, FetchError, OutputFetcher, OutputRefused


class Server:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/{tail:.*}", self.handle)
        # path: a body, a redirect target ("-> url"), or seconds to stall
        self.routes: dict[str, bytes | str | float] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path)
        answer = self.routes.get(request.path)
        if answer is None:
            raise web.HTTPNotFound()
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            return web.Response(body=b"late")
        if isinstance(answer, str):
            raise web.HTTPFound(answer.removeprefix("-> "))
        return web.Response(body=answer)

    async def __aenter__(self) -> Server:
        self.runner, self.port = await start_site(self.app, "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


def fetcher(*servers: Server, total_s: float = 5.0, bytes_max: int = 1024) -> OutputFetcher:
    hosts = AllowedHosts.parse(",".join(f"127.0.0.1:{s.port}" for s in servers))
    return OutputFetcher(hosts, total_s, bytes_max)


async def test_an_allowed_host_is_fetched_and_may_redirect_within_the_list():
    async with Server() as cdn, Server() as origin:
        origin.routes["/v.mp4"] = b"video"
        cdn.routes["/v.mp4"] = f"-> {origin.base}/v.mp4"
        assert b"".join(await fetcher(cdn, origin).fetch(f"{cdn.base}/v.mp4")) == b"video"
        assert (cdn.hits, origin.hits) == (["/v.mp4"], ["/v.mp4"])


async def test_a_host_off_the_list_is_never_asked_even_through_a_redirect():
    async with Server() as cdn, Server() as internal:
        internal.routes["/secret"] = b"credentials"
        cdn.routes["/v.mp4"] = f"-> {internal.base}/secret"
        allowed = fetcher(cdn)
        with pytest.raises(OutputRefused):
            await allowed.fetch(f"{internal.base}/secret")
        with pytest.raises(OutputRefused):
            await allowed.fetch(f"{cdn.base}/v.mp4")
        assert internal.hits == [] and cdn.hits == ["/v.mp4"]


async def test_redirect_loops_sizes_and_deadlines_are_bounded():
    async with Server() as cdn:
        cdn.routes["/loop"] = "-> /loop"
        cdn.routes["/big"] = b"x" * 4096
        cdn.routes["/slow"] = 2.0
        with pytest.raises(OutputRefused, match="redirects"):
            await fetcher(cdn).fetch(f"{cdn.base}/loop")
        with pytest.raises(OutputRefused, match="larger"):
            await fetcher(cdn).fetch(f"{cdn.base}/big")
        with pytest.raises(FetchError, match="longer"):
            await fetcher(cdn, total_s=0.3).fetch(f"{cdn.base}/slow")


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://replicate.delivery/a.mp4", True),
        ("https://pbxt.replicate.delivery/a.mp4", True),
        ("http://replicate.delivery/a.mp4", False),  # https only without a port entry
        ("https://replicate.delivery.evil.test/a.mp4", False),
        ("https://evilreplicate.delivery/a.mp4", False),
        ("https://user:pw@replicate.delivery/a.mp4", False),
        ("https://replicate.delivery:8443/a.mp4", False),
        ("http://127.0.0.1:8010/files/a.mp4", True),
        ("http://127.0.0.1:8011/files/a.mp4", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
        ("https://[::1/a", False),
    ],
)
def test_which_urls_the_default_list_allows(url, allowed):
    hosts = AllowedHosts.parse("replicate.delivery, *.replicate.delivery, 127.0.0.1:8010")
    assert hosts.allows(url) is allowed
