"""Who is calling: the user's JWT (as Supabase issues it), checked with PyJWT.

HS256 with AUTH_JWT_SECRET, or asymmetric keys from AUTH_JWKS_URL; audience and expiry
checked; `sub` is the user. EventSource cannot send headers, so /api/events also takes
a short-lived token of our own, minted for a signed-in user.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from videogen_common.errors import Unauthenticated

EVENTS_AUDIENCE = "videogen-events"


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    is_admin: bool


class Authenticator:
    def __init__(self, secret: str, jwks_url: str, audience: str, events_ttl_s: int) -> None:
        self._secret = secret
        self._audience = audience
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        # Events tokens are ours: derived, so every replica agrees without a new secret.
        seed = secret or jwks_url
        self._events_key = hmac.new(seed.encode(), b"videogen-events", hashlib.sha256).digest()
        self._events_ttl_s = events_ttl_s

    async def _claims(self, token: str) -> dict[str, Any]:
        options: Any = {"require": ["exp", "sub"]}
        if self._jwks is not None:
            # PyJWKClient fetches with blocking I/O (then caches): keep it off the loop.
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            key = signing_key.key
            return jwt.decode(
                token, key, algorithms=["RS256", "ES256"], audience=self._audience, options=options
            )
        return jwt.decode(
            token, self._secret, algorithms=["HS256"], audience=self._audience, options=options
        )

    async def user(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("Not authenticated")
        try:
            claims = await self._claims(authorization[len("Bearer ") :].strip())
        except (jwt.PyJWTError, ValueError) as error:
            raise Unauthenticated(f"Invalid token: {error}") from None
        return _principal(claims)

    def events_token(self, principal: Principal) -> tuple[str, int]:
        expires = int(time.time()) + self._events_ttl_s
        token = jwt.encode(
            {
                "sub": principal.user_id,
                "aud": EVENTS_AUDIENCE,
                "exp": expires,
                "email": principal.email,
                "role": "admin" if principal.is_admin else "authenticated",
            },
            self._events_key,
            algorithm="HS256",
        )
        return token, self._events_ttl_s

    def events_user(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._events_key,
                algorithms=["HS256"],
                audience=EVENTS_AUDIENCE,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"Invalid events token: {error}") from None
        return _principal(claims)


def _principal(claims: dict) -> Principal:
    try:
        user_id = str(uuid.UUID(str(claims["sub"])))
    except ValueError:
        raise Unauthenticated("Invalid token: sub is not a user id") from None
    app_role = (claims.get("app_metadata") or {}).get("role")
    return Principal(
        user_id, str(claims.get("email") or ""), "admin" in (claims.get("role"), app_role)
    )
