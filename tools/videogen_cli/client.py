"""What the command line needs: where the API is, the HS256 secret its tokens are
signed with, and one HTTP call at a time with a clear error when nobody answers."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from dotenv import dotenv_values

# `make run` keeps the secret it generated here, so tokens minted later still work.
DEV_SECRETS = Path(".data") / "dev-auth.env"


class CliError(Exception):
    """Said to the operator as it is; exit status 2 when the stack is not reachable."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _setting(name: str, default: str = "") -> str:
    for source in (os.environ, dotenv_values(".env"), dotenv_values(DEV_SECRETS)):
        value = source.get(name)
        if value:
            return value
    return default


@dataclass(frozen=True)
class Target:
    api_url: str
    jwt_secret: str
    audience: str

    @classmethod
    def from_environment(cls, api_url: str | None) -> Target:
        port = _setting("API_GATEWAY_PORT", "8000")
        return cls(
            (api_url or _setting("VIDEOGEN_API_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
            _setting("AUTH_JWT_SECRET"),
            _setting("AUTH_JWT_AUDIENCE", "authenticated"),
        )

    def token(self, user_id: str, *, admin: bool = False, hours: float = 24.0) -> str:
        if not self.jwt_secret:
            raise CliError(
                "no AUTH_JWT_SECRET: set it (the environment or .env), or start `make run`, "
                f"which keeps the one it generates in {DEV_SECRETS}"
            )
        claims = {
            "sub": str(uuid.UUID(user_id)),
            "aud": self.audience,
            "role": "admin" if admin else "authenticated",
            "email": f"{user_id[:8]}@videogen.local",
            "iat": int(time.time()),
            "exp": int(time.time() + hours * 3600),
        }
        return jwt.encode(claims, self.jwt_secret, algorithm="HS256")

    def call(self, method: str, path: str, token: str, body: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = f"cli-{uuid.uuid4().hex}"
        request = urllib.request.Request(self.api_url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                detail = json.loads(error.read()).get("detail")
            except ValueError:
                detail = error.reason
            raise CliError(f"{method} {path}: {error.code} {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise CliError(
                f"the API at {self.api_url} is not reachable ({reason}); is the stack up "
                "(`make run`), or is --api / VIDEOGEN_API_URL pointing elsewhere?",
                unreachable=True,
            ) from None
