"""Who is calling: the user's JWT (as Supabase issues it), checked with PyJWT.

HS256 with AUTH_JWT_SECRET, or asymmetric keys from AUTH_JWKS_URL; audience and expiry
checked; `sub` is the user. EventSource cannot send headers, so /api/events also takes
a short-lived token of our own, minted for a signed-in user and signed with its own
secret (API_GATEWAY_EVENTS_SECRET): nothing public, such as a JWKS URL, may derive it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from videogen_common.errors import Unauthenticated

EVENTS_AUDIENCE = "videogen-events"
# Seconds of clock difference between replicas tolerated on an events token's iat.
CLOCK_SKEW_S = 5


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    is_admin: bool


class Authenticator:
    def __init__(
        self, secret: str, jwks_url: str, audience: str, events_secret: str, events_ttl_s: int
    ) -> None:
        self._secret = secret
        self._audience = audience
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        # Shared by the replicas, and by nothing else: not the user JWT's secret either,
        # so an events token never passes as a user token or the other way round.
        self._events_key = events_secret
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
        now = int(time.time())
        token = jwt.encode(
            {
                "sub": principal.user_id,
                "aud": EVENTS_AUDIENCE,
                "iat": now,
                "exp": now + self._events_ttl_s,
                "email": principal.email,
                "role": "admin" if principal.is_admin else "authenticated",
            },
            self._events_key,
            algorithm="HS256",
        )
        return token, self._events_ttl_s

    def events_user(self, token: str) -> Principal:
        """The user an events token names, if we minted it recently and it still lives."""
        try:
            claims = jwt.decode(
                token,
                self._events_key,
                algorithms=["HS256"],
                audience=EVENTS_AUDIENCE,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"Invalid events token: {error}") from None
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int) or not isinstance(expires, int):
            raise Unauthenticated("Invalid events token: iat and exp must be integers")
        # Whoever leaked the secret still cannot mint a token that outlives the setting.
        if expires - issued > self._events_ttl_s or issued > time.time() + CLOCK_SKEW_S:
            raise Unauthenticated("Invalid events token: lifetime beyond the allowed")
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
