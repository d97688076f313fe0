"""The seed's auth routes, forwarded to Supabase Auth (GoTrue's HTTP API), and GET /.

Each call carries its own caller's credentials: the project's anon key as `apikey`, and
for sign-out the user's own access token. Nothing is kept between requests: no client
ever takes on a user's identity for anyone else (the seed's shared client did).
Without SUPABASE_URL and SUPABASE_ANON_KEY these routes answer 501 and say so.
"""

from __future__ import annotations

import json
import logging

import aiohttp
from aiohttp import web

from videogen_common.errors import FieldViolation, InvalidArgument

from .auth import Principal
from .bodies import read_json_object
from .context import context_of

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
VERSION = "1.0.0"
AUTH = web.AppKey("supabase_auth", object)
NOT_CONFIGURED = "Auth is not configured: set SUPABASE_URL and SUPABASE_ANON_KEY"
EMAIL_LENGTH_MAX, PASSWORD_LENGTH_MAX = 320, 256


class SupabaseAuth:
    """GoTrue's endpoints under SUPABASE_URL/auth/v1, with one HTTP connection pool."""

    def __init__(self, url: str, anon_key: str, timeout_s: float) -> None:
        self._base = url.rstrip("/") + "/auth/v1"
        self._anon_key = anon_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def call(self, path: str, body: dict | None, user_token: str | None = None):
        if self._session is None:
            # No cookie jar: a response's cookies must never reach the next caller.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar()
            )
        headers = {
            "apikey": self._anon_key,
            "Authorization": f"Bearer {user_token or self._anon_key}",
        }
        try:
            async with self._session.post(
                self._base + path, json=body, headers=headers
            ) as response:
                raw = await response.read()  # chunked or not: the whole answer
                try:
                    payload = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    payload = {}
                return response.status, payload if isinstance(payload, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("supabase auth unreachable", extra={"error": type(error).__name__})
            raise web.HTTPServiceUnavailable(reason="Auth provider unavailable") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _auth(request: web.Request) -> SupabaseAuth:
    auth = request.app.get(AUTH)
    if not isinstance(auth, SupabaseAuth):
        raise web.HTTPNotImplemented(reason=NOT_CONFIGURED)
    return auth


async def _credentials(request: web.Request) -> dict:
    body = await read_json_object(request)
    found = []
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or "@" not in email or len(email) > EMAIL_LENGTH_MAX:
        found.append(FieldViolation("email", "must be an email address"))
    if not isinstance(password, str) or not 1 <= len(password) <= PASSWORD_LENGTH_MAX:
        found.append(FieldViolation("password", f"must be 1 to {PASSWORD_LENGTH_MAX} characters"))
    if found:
        raise InvalidArgument.of(*found)
    return {"email": email, "password": password}


def _refused(status: int, payload: dict) -> web.Response:
    """GoTrue's error, in the API's shape (its message, its status)."""
    message = (
        payload.get("msg")
        or payload.get("error_description")
        or payload.get("message")
        or "Authentication failed"
    )
    return web.json_response({"detail": message}, status=status if status < 500 else 502)


def _session(payload: dict) -> dict | None:
    if "access_token" not in payload:
        return None  # sign-up awaiting e-mail confirmation: no session yet
    keys = ("access_token", "token_type", "expires_in", "expires_at", "refresh_token")
    return {k: payload[k] for k in keys if k in payload}


@routes.post("/api/auth/signup")
async def signup(request: web.Request) -> web.Response:
    auth, credentials = _auth(request), await _credentials(request)
    status, payload = await auth.call("/signup", credentials)
    if status >= 400:
        return _refused(status, payload)
    user = payload.get("user") or payload  # GoTrue answers the user alone until confirmed
    if isinstance(user.get("id"), str):
        # The account opens now, with its signup grant, as the seed did.
        await context_of(request).ensure_account(
            Principal(user["id"], str(user.get("email") or ""), False)
        )
    return web.json_response({"user": user, "session": _session(payload)})


@routes.post("/api/auth/signin")
async def signin(request: web.Request) -> web.Response:
    auth, credentials = _auth(request), await _credentials(request)
    status, payload = await auth.call("/token?grant_type=password", credentials)
    if status >= 400:
        return _refused(status, payload)
    return web.json_response({"user": payload.get("user"), "session": _session(payload)})


@routes.post("/api/auth/signout")
async def signout(request: web.Request) -> web.Response:
    auth = _auth(request)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return web.json_response({"detail": "Not authenticated"}, status=401)
    status, payload = await auth.call("/logout", None, header[len("Bearer ") :].strip())
    if status >= 400:
        return _refused(status, payload)
    return web.json_response({"message": "Signed out successfully"})


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    return web.json_response({"message": "videogen backend API", "version": VERSION})
