"""Event tokens: only ours, only as long-lived as the setting, only for their user.

A token the gateway accepts opens the stream (200, the balance from credits; it ends
soon, generation is not running here); one it refuses gets 401."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

import jwt

from ..conftest import EVENTS_SECRET, JWT_SECRET, api_values, running_api


def _token(key, **claims) -> str:
    now = int(time.time())
    payload = {"sub": str(uuid.uuid4()), "aud": "videogen-events", "iat": now, "exp": now + 30}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, "HS256")


async def _status(api, token: str) -> int:
    async with api.session.get("/api/events", params={"token": token}) as response:
        return response.status


async def test_a_minted_token_opens_the_stream_of_its_user(api):
    user = str(uuid.uuid4())
    status, minted, _ = await api.call("POST", "/api/events/token", user)
    assert status == 200 and minted["expires_in"] == 60
    claims = jwt.decode(minted["token"], EVENTS_SECRET, ["HS256"], audience="videogen-events")
    assert claims["sub"] == user and claims["exp"] - claims["iat"] == 60
    assert await _status(api, minted["token"]) == 200


async def test_tokens_signed_with_anything_but_the_events_secret_are_refused(api):
    # The key the gateway used to derive from AUTH_JWT_SECRET (or the public JWKS URL).
    derived = hmac.new(JWT_SECRET.encode(), b"videogen-events", hashlib.sha256).digest()
    for key in (derived, JWT_SECRET, "some-other-secret-of-32-characters-x"):
        assert await _status(api, _token(key)) == 401
    assert await _status(api, _token(EVENTS_SECRET)) == 200  # the control


async def test_lifetimes_beyond_the_setting_or_without_iat_are_refused(api):
    now = int(time.time())
    too_long = _token(EVENTS_SECRET, iat=now, exp=now + 61)
    back_dated = _token(EVENTS_SECRET, iat=now - 3600, exp=now + 3600)
    no_iat = _token(EVENTS_SECRET, iat=None)
    from_the_future = _token(EVENTS_SECRET, iat=now + 600, exp=now + 630)
    expired = _token(EVENTS_SECRET, iat=now - 90, exp=now - 30)
    user_jwt_audience = _token(EVENTS_SECRET, aud="authenticated")
    for token in (too_long, back_dated, no_iat, from_the_future, expired, user_jwt_audience):
        assert await _status(api, token) == 401
    assert await _status(api, _token(EVENTS_SECRET, iat=now, exp=now + 60)) == 200


async def test_an_events_token_is_not_a_user_token(api):
    user = str(uuid.uuid4())
    _, minted, _ = await api.call("POST", "/api/events/token", user)
    async with api.session.get(
        "/api/users/credits", headers={"Authorization": f"Bearer {minted['token']}"}
    ) as response:
        assert response.status == 401


async def test_events_switched_off_answer_404(credits_app, tmp_path):
    values = api_values(
        tmp_path, credits_app.port, api_gateway_events_enabled=False, api_gateway_events_secret=None
    )
    async with running_api(values) as api:
        assert (await api.call("POST", "/api/events/token", str(uuid.uuid4())))[0] == 404
        assert await _status(api, _token(EVENTS_SECRET)) == 404
