"""An aiohttp server whose POST handler does nothing: the HTTP baseline for the webhook
gateway.

Served like the gateway (videogen_common.service_main.start_site, no access log, same
aiohttp), on any path: it reads the body, as any handler must before answering on a
kept-alive connection, and answers 200 with a small JSON object shaped like the
gateway's. No verification, no database, no upstream call.
Usage: python bench/noop_http_server.py PORT   (prints "listening on http://...")
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from videogen_common.grpc_server import wait_for_termination_signal
from videogen_common.service_main import start_site

BODY_MAX_BYTES = 4 * 1024 * 1024  # the gateway's default


async def ok(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"status": "ok", "outcome": "applied", "duplicate": False})


async def serve(port: int) -> None:
    app = web.Application(client_max_size=BODY_MAX_BYTES)
    app.router.add_post("/{tail:.*}", ok)
    runner, bound = await start_site(app, "127.0.0.1", port, access_log=None, shutdown_timeout=1.0)
    print(f"listening on http://127.0.0.1:{bound}", flush=True)
    await wait_for_termination_signal()
    await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: noop_http_server.py PORT")
    asyncio.run(serve(int(sys.argv[1])))
