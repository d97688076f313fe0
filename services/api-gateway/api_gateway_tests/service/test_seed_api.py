"""The rest of the seed's API: GET /, the auth routes forwarded to Supabase Auth, CORS
on every answer, and 422s that name where a field came from.

Supabase Auth is played by a small GoTrue-shaped server on loopback (its real HTTP
paths and answers); what is checked is what our gateway sends it and makes of it."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from aiohttp import web

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.service_main import start_site

from ..conftest import CREDITS_TOKENS, ORIGIN, api_values, running_api

ANON_KEY = "anon-key-of-the-test-project"


class GoTrue:
    """POST /auth/v1/signup, /auth/v1/token?grant_type=password, /auth/v1/logout."""

    def __init__(self) -> None:
        self.users: dict[str, tuple[str, str]] = {}  # email -> (id, password)
        self.seen: list[tuple[str, str, str]] = []  # (path, apikey, authorization)
        self.app = web.Application()
        self.app.router.add_post("/auth/v1/signup", self.signup)
        self.app.router.add_post("/auth/v1/token", self.token)
        self.app.router.add_post("/auth/v1/logout", self.logout)

    def _record(self, request: web.Request) -> None:
        self.seen.append(
            (request.path, request.headers.get("apikey", ""), request.headers["Authorization"])
        )

    def _session(self, email: str) -> dict:
        user_id = self.users[email][0]
        return {
            "access_token": f"jwt-of-{user_id}",
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": "r",
            "user": {"id": user_id, "email": email, "aud": "authenticated"},
        }

    async def signup(self, request: web.Request) -> web.Response:
        self._record(request)
        body = await request.json()
        if body["email"] in self.users:
            return web.json_response({"code": 422, "msg": "User already registered"}, status=422)
        self.users[body["email"]] = (str(uuid.uuid4()), body["password"])
        return web.json_response(self._session(body["email"]))

    async def token(self, request: web.Request) -> web.Response:
        self._record(request)
        body = await request.json()
        known = self.users.get(body["email"])
        if (
            request.query.get("grant_type") != "password"
            or not known
            or known[1] != body["password"]
        ):
            return web.json_response(
                {"error": "invalid_grant", "error_description": "Invalid login credentials"},
                status=400,
            )
        # Chunked, without Content-Length, as a proxy in front of GoTrue may answer.
        answer = web.StreamResponse(headers={"Content-Type": "application/json"})
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        await answer.write(json.dumps(self._session(body["email"])).encode())
        await answer.write_eof()
        return answer

    async def logout(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.Response(status=204)


@pytest.fixture
async def gotrue():
    server = GoTrue()
    runner, port = await start_site(server.app, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


@pytest.fixture
async def with_auth(tmp_path, credits_app, gotrue):
    values = api_values(
        tmp_path, credits_app.port, supabase_url=gotrue.url, supabase_anon_key=ANON_KEY
    )
    async with running_api(values) as api:
        yield api


async def test_root_says_what_it_is(api):
    status, body, _ = await api.call("GET", "/")
    assert status == 200 and set(body) == {"message", "version"}


@pytest.mark.parametrize("path", ["/api/auth/signup", "/api/auth/signin", "/api/auth/signout"])
async def test_without_supabase_the_auth_routes_say_what_to_configure(api, path):
    body = {"email": "a@example.test", "password": "pw-123456"}
    status, answer, _ = await api.call("POST", path, json=body)
    assert status == 501 and "SUPABASE_URL" in answer["detail"]


async def test_signup_opens_the_account_and_signin_answers_the_seed_shape(
    with_auth, gotrue, credits_app
):
    creds = {"email": "new@example.test", "password": "correct horse"}
    status, signed_up, _ = await with_auth.call("POST", "/api/auth/signup", json=creds)
    assert status == 200 and signed_up["session"]["access_token"].startswith("jwt-of-")
    user_id = signed_up["user"]["id"]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{credits_app.port}") as channel:
        stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(channel), CREDITS_TOKENS["api"])
        account = (await stub.GetBalance(cpb.GetBalanceRequest(user_id=user_id))).account
    assert account.available == 100  # opened at sign-up, with the signup grant
    status, signed_in, _ = await with_auth.call("POST", "/api/auth/signin", json=creds)
    assert status == 200 and signed_in["user"]["id"] == user_id
    assert set(signed_in["session"]) >= {"access_token", "refresh_token", "expires_in"}
    wrong = {**creds, "password": "wrong"}
    status, refused, _ = await with_auth.call("POST", "/api/auth/signin", json=wrong)
    assert (status, refused["detail"]) == (400, "Invalid login credentials")
    status, again, _ = await with_auth.call("POST", "/api/auth/signup", json=creds)
    assert (status, again["detail"]) == (422, "User already registered")
    # Every call went with the project's anon key and nobody else's identity.
    assert {(apikey, auth) for _, apikey, auth in gotrue.seen} == {(ANON_KEY, f"Bearer {ANON_KEY}")}


async def test_signout_carries_the_callers_own_token_only(with_auth, gotrue):
    headers = {"Authorization": "Bearer the-users-own-access-token"}
    status, body, _ = await with_auth.call("POST", "/api/auth/signout", headers=headers)
    assert status == 200 and body == {"message": "Signed out successfully"}
    assert gotrue.seen == [("/auth/v1/logout", ANON_KEY, "Bearer the-users-own-access-token")]
    status, _, _ = await with_auth.call("POST", "/api/auth/signout")
    assert status == 401 and len(gotrue.seen) == 1


@pytest.mark.parametrize(
    "body, field", [({"email": "nope", "password": "x"}, "email"), ({"email": "a@b.c"}, "password")]
)
async def test_bad_credentials_are_a_422_and_reach_nobody(with_auth, gotrue, body, field):
    status, answer, _ = await with_auth.call("POST", "/api/auth/signin", json=body)
    assert status == 422 and [d["loc"] for d in answer["detail"]] == [["body", field]]
    assert gotrue.seen == []


async def test_cors_headers_on_every_answer_and_any_request_header(api):
    origin = {"Origin": ORIGIN}
    for path in ("/no/such/route", "/api/generation/status/not-a-uuid"):
        status, body, headers = await api.call("GET", path, str(uuid.uuid4()), headers=origin)
        assert status == 404 and body["detail"]
        assert headers["Access-Control-Allow-Origin"] == ORIGIN
    preflight = {
        **origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, x-client-info",
    }
    async with api.session.options("/api/generation/text-to-video", headers=preflight) as r:
        assert r.status == 200
        assert "x-client-info" in r.headers["Access-Control-Allow-Headers"].lower()
    status, _, headers = await api.call("GET", "/nowhere", headers={"Origin": "http://evil.test"})
    assert status == 404 and "Access-Control-Allow-Origin" not in headers


async def test_a_422_names_the_query_or_header_a_field_came_from(api):
    user = str(uuid.uuid4())
    status, body, _ = await api.call("GET", "/api/users/transactions?limit=0", user)
    assert status == 422 and body["detail"][0]["loc"] == ["query", "limit"]
    status, body, _ = await api.call("GET", f"/api/users/transactions?cursor={'x' * 600}", user)
    assert status == 422 and body["detail"][0]["loc"] == ["query", "cursor"]
    status, body, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        user,
        json={"prompt": "a red fox running through the snow"},
        headers={"Idempotency-Key": "k" * 201},
    )
    assert status == 422 and body["detail"][0]["loc"] == ["header", "Idempotency-Key"]
