"""The aiohttp application: auth, CORS, errors, access logs, routes."""

from __future__ import annotations

import json
import logging
import time

import aiohttp_cors
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import Counter, Histogram

from videogen_common import request_id
from videogen_common.errors import Unauthenticated
from videogen_common.tracing import current_trace_id

from . import console, routes_admin, routes_auth, routes_user
from .context import CONTEXT, PRINCIPAL, Context, TooManyStreams, context_of
from .events import stream_events
from .http_errors import error_middleware, from_service_error
from .media import MediaFiles
from .openapi import document
from .routes_auth import SupabaseAuth

log = logging.getLogger("videogen_api_gateway.access")
REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
SECONDS = Histogram("http_request_seconds", "HTTP latency", ["method", "route"])
PUBLIC = {
    "/health",
    "/openapi.json",
    "/api/generation/catalog",
    "/api/credits/packages",
    "/api/events",
    # Forwarded to Supabase Auth, which checks what they carry.
    "/api/auth/signup",
    "/api/auth/signin",
    "/api/auth/signout",
}


class AccessLogger(AbstractAccessLogger):
    """JSON access lines: method, path without its query (tokens travel there), status."""

    def log(self, request, response, time_s):
        self.logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "duration_ms": round(time_s * 1000, 2),
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


@web.middleware
async def request_id_middleware(request: web.Request, handler):
    """X-Request-Id in (or a new one) and out; in every log line of the request, in the
    metadata of every call it makes, and in its error body."""
    # With tracing on, the id is the trace id (the server span is already open).
    rid = request_id.adopt(current_trace_id() or request.headers.get(request_id.HEADER))
    response = await handler(request)
    response.headers[request_id.HEADER] = rid
    if (
        response.status >= 400
        and isinstance(response, web.Response)
        and response.content_type == "application/json"
        and isinstance(response.body, bytes)
    ):
        body = json.loads(response.body)
        if isinstance(body, dict):
            response.text = json.dumps({**body, "request_id": rid})
    return response


@web.middleware
async def metrics_middleware(request: web.Request, handler):
    started = time.perf_counter()
    response = await handler(request)
    route = (
        request.match_info.route.resource.canonical
        if request.match_info.route.resource
        else "other"
    )
    REQUESTS.labels(request.method, route, response.status).inc()
    SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler):
    path = request.path
    # /media is not under /api: its links carry their own signature (media.py).
    if request.method == "OPTIONS" or path in PUBLIC or not path.startswith("/api/"):
        return await handler(request)
    ctx = context_of(request)
    principal = await ctx.auth.user(request.headers.get("Authorization"))
    await ctx.ensure_account(principal)
    request[PRINCIPAL] = principal
    return await handler(request)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy"})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


async def events(request: web.Request) -> web.StreamResponse:
    """Authorization header, or ?token= minted by POST /api/events/token (EventSource)."""
    ctx = context_of(request)
    if not ctx.events_enabled:
        raise web.HTTPNotFound(reason="Events are not enabled")
    try:
        if request.headers.get("Authorization"):
            principal = await ctx.auth.user(request.headers["Authorization"])
        else:
            principal = ctx.auth.events_user(request.query.get("token", ""))
        await ctx.ensure_account(principal)
        with ctx.stream_slot(principal.user_id):
            return await stream_events(request, principal.user_id)
    except (Unauthenticated, TooManyStreams) as error:
        return from_service_error(error)


def build_app(
    ctx: Context,
    origins: list[str],
    media: MediaFiles | None,
    body_max_bytes: int,
    supabase: SupabaseAuth | None = None,
) -> web.Application:
    """``media``: the files /media serves through signed links; None serves none.
    ``supabase``: where /api/auth/* goes; None answers them 501."""
    app = web.Application(
        client_max_size=body_max_bytes,
        middlewares=[
            _preflight_anywhere(frozenset(origins)),
            request_id_middleware,
            metrics_middleware,
            error_middleware,
            auth_middleware,
        ],
    )
    app[CONTEXT] = ctx
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/api/events", events)
    app.router.add_routes(routes_user.routes)
    app.router.add_routes(routes_admin.routes)
    app.router.add_routes(routes_auth.routes)
    console.add_routes(app)
    if supabase is not None:
        app[routes_auth.AUTH] = supabase

        async def close_auth(app: web.Application) -> None:
            await supabase.close()

        app.on_cleanup.append(close_auth)
    if media is not None:
        app.router.add_get("/media/{kind}/{name}", media.serve)
    cors = aiohttp_cors.setup(
        app,
        defaults={
            origin: aiohttp_cors.ResourceOptions(
                allow_credentials=True,
                expose_headers=("Retry-After", "X-Request-Id"),
                # Any header a browser client adds (supabase-js sends x-client-info).
                allow_headers="*",
                allow_methods=("GET", "POST"),
            )
            for origin in origins
        },
    )
    for route in list(app.router.routes()):
        if route.method != "HEAD":
            cors.add(route)
    app.on_response_prepare.append(_cors_everywhere(frozenset(origins)))
    return app


def _preflight_anywhere(origins: frozenset[str]):
    """A preflight to a path no route serves is answered like any other: without it a
    browser sends nothing and its app cannot read the 404's detail."""

    @web.middleware
    async def preflight(request: web.Request, handler):
        origin = request.headers.get("Origin", "").rstrip("/")
        if (
            request.method != "OPTIONS"
            or origin not in origins
            or "Access-Control-Request-Method" not in request.headers
            or request.match_info.http_exception is None  # a route's own preflight
        ):
            return await handler(request)
        # The origin and credentials headers are added as on every answer
        # (_cors_everywhere); a preflight adds what it allows.
        headers = {"Access-Control-Allow-Methods": "GET, POST"}
        asked = request.headers.get("Access-Control-Request-Headers")
        if asked:
            headers["Access-Control-Allow-Headers"] = asked
        return web.Response(status=200, headers=headers)

    return preflight


def _cors_everywhere(origins: frozenset[str]):
    """CORS headers on every answer to an allowed origin, unknown routes included: a
    browser that is not told may not read the 404's detail."""

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin", "").rstrip("/")
        if origin in origins and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = "Retry-After, X-Request-Id"
            response.headers.add("Vary", "Origin")

    return add
