"""Bearer tokens as the auth provider (Supabase, HS256) would sign them for a frontend.

Needs PyJWT, which the API gateway (and so every test run) installs."""

from __future__ import annotations

import time

import jwt


def make_jwt(
    user_id: str,
    *,
    secret: str,
    audience: str = "authenticated",
    expires_in_s: int = 3600,
    role: str = "authenticated",
    **claims,
) -> str:
    payload = {
        "sub": user_id,
        "aud": audience,
        "role": role,
        "exp": int(time.time()) + expires_in_s,
        "email": f"{user_id[:8]}@example.test",
        **claims,
    }
    return jwt.encode(payload, secret, algorithm="HS256")
