"""The gateway with credits but no generation service: everything here is decided by the
gateway itself (tokens, fields, odd bytes, CORS, the document of the routes), and what
needs the missing service is a plain 503."""

import uuid

import pytest

PROMPT = "a red fox running through fresh snow"


def new_user() -> str:
    return str(uuid.uuid4())


async def test_ill_typed_fields_are_422_listing_each(api):
    status, body, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        new_user(),
        json={"prompt": "short", "duration": "five", "seed": True},
    )
    assert status == 422
    assert {tuple(d["loc"]) for d in body["detail"]} == {("body", "duration"), ("body", "seed")}
    status, body, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        new_user(),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 422


@pytest.mark.parametrize(
    "case", ["missing", "expired", "tampered", "wrong audience", "wrong secret", "not a uuid"]
)
async def test_bad_tokens_are_401(api, case):
    user = new_user()
    headers = {
        "missing": {},
        "expired": api.auth(user, expires_in_s=-10),
        "tampered": {"Authorization": api.auth(user)["Authorization"][:-3] + "abc"},
        "wrong audience": api.auth(user, audience="someone-else"),
        "wrong secret": api.auth(user, secret="another-secret-of-32-characters!!!"),
        "not a uuid": api.auth("admin"),
    }[case]
    status, body, _ = await api.call("GET", "/api/users/credits", headers=headers)
    assert status == 401 and body["detail"]


async def test_cors_allows_only_the_configured_origins(api):
    preflight = {
        "Origin": "http://app.example.test",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }
    async with api.session.options("/api/generation/text-to-video", headers=preflight) as r:
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == "http://app.example.test"
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
    evil = {**preflight, "Origin": "http://evil.example.test"}
    async with api.session.options("/api/generation/text-to-video", headers=evil) as r:
        assert "Access-Control-Allow-Origin" not in r.headers


async def test_openapi_matches_the_routes(api):
    status, doc, _ = await api.call("GET", "/openapi.json")
    assert status == 200 and doc["openapi"] == "3.1.0"
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    # Signed media links and the admin console's page and files are not the JSON API.
    served = {
        (r.method, r.resource.canonical)
        for r in api.app.runner.app.router.routes()
        if r.method not in ("HEAD", "OPTIONS")
        and not r.resource.canonical.startswith(("/media", "/admin"))
    }
    assert documented == served


@pytest.mark.parametrize(
    "case",
    [
        "unknown charset",
        "lone surrogate",
        "unicode digit limit",
        "admin reason surrogate",
    ],
)
async def test_odd_input_is_4xx_never_5xx(api, case):
    user, admin = new_user(), new_user()
    if case == "unknown charset":
        answer = await api.call(
            "POST",
            "/api/generation/text-to-video",
            user,
            data=b'{"prompt": "a red fox running"}',
            headers={"Content-Type": "application/json; charset=foo"},
        )
    elif case == "lone surrogate":
        answer = await api.call(
            "POST",
            "/api/generation/text-to-video",
            user,
            data=b'{"prompt": "a red fox running \\ud800"}',
            headers={"Content-Type": "application/json"},
        )
    elif case == "unicode digit limit":
        answer = await api.call("GET", "/api/users/transactions?limit=%C2%B2", user)
    else:
        answer = await api.call(
            "POST",
            f"/api/admin/users/{user}/credits",
            None,
            headers={
                **api.auth(admin, role="admin"),
                "Content-Type": "application/json",
                "Idempotency-Key": "k",
            },
            data=b'{"amount": 5, "reason": "x\\udc00"}',
        )
    status, body, _ = answer
    assert status == 422 and body["detail"], (status, body)


async def test_with_generation_down_its_routes_are_503_and_credits_still_answer(api):
    user = new_user()
    for method, path, body in (
        ("GET", "/api/generation/history", None),
        ("POST", "/api/generation/text-to-video", {"prompt": PROMPT, "resolution": "480p"}),
    ):
        status, answer, _ = await api.call(method, path, user, json=body)
        assert (status, answer["detail"]) == (503, "Service temporarily unavailable")
    status, answer, _ = await api.call("GET", "/api/users/credits", user)
    assert status == 200 and answer["credits"] == 100
