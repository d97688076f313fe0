"""An HTTP client for the API gateway as a frontend uses it: a signed-in user's bearer
token on each call, the JSON body (or None) back with the status and headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from .tokens import make_jwt


@dataclass
class ApiClient:
    app: Any  # the running gateway (videogen_common.service_main.HttpApp)
    session: aiohttp.ClientSession
    settings: dict  # what it was started with (to start another replica like it)
    jwt_secret: str

    def auth(self, user_id: str, **claims) -> dict:
        claims.setdefault("secret", self.jwt_secret)
        return {"Authorization": f"Bearer {make_jwt(user_id, **claims)}"}

    async def call(self, method: str, path: str, user_id: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if user_id is not None:
            headers.update(self.auth(user_id))
        async with self.session.request(method, path, headers=headers, **kwargs) as response:
            body = await response.json(content_type=None) if response.content_length != 0 else None
            return response.status, body, response.headers
