"""Admin routes over one user's account and generations, and the events token an admin
mints to follow a user (what the admin console reads)."""

import uuid

import grpc
import pytest

from videogen.credits.v1 import credits_pb2 as cpb


async def test_an_account_with_its_grants_holds_and_generations_for_admins_only(
    api, stack, funded_user
):
    admin, user = str(uuid.uuid4()), await funded_user(100)
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    status, created, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        user,
        json={"prompt": "a red fox running through the snow", "resolution": "480p"},
    )
    assert status == 200
    as_admin = {"headers": api.auth(admin, role="admin")}

    status, account, _ = await api.call("GET", f"/api/admin/users/{user}", **as_admin)
    assert status == 200
    price = created["price"]
    assert (account["user_id"], account["credits"], account["reserved"]) == (
        user,
        100 - price,
        price,
    )
    assert [(g["source"], g["remaining"]) for g in account["grants"]] == [("signup", 100 - price)]
    assert [(h["reference"], h["amount"]) for h in account["holds"]] == [(created["id"], price)]

    status, listed, _ = await api.call(
        "GET", f"/api/admin/users/{user}/generations?limit=10", **as_admin
    )
    assert status == 200 and [g["id"] for g in listed["generations"]] == [created["id"]]

    # Nobody else sees any of it. A user never seen has no account, and looking creates none.
    for path in (f"/api/admin/users/{user}", f"/api/admin/users/{user}/generations"):
        status, _, _ = await api.call("GET", path, user)
        assert status == 404, path
    stranger = str(uuid.uuid4())
    status, body, _ = await api.call("GET", f"/api/admin/users/{stranger}", **as_admin)
    assert status == 422 and "no account" in body["detail"][0]["msg"]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stack.credits_api.GetBalance(cpb.GetBalanceRequest(user_id=stranger))
    assert "no account" in (raised.value.details() or "")
    status, body, _ = await api.call("GET", "/api/admin/users/not-a-uuid", **as_admin)
    assert status == 422 and body["detail"][0]["loc"][-1] == "user_id"
    status, body, _ = await api.call(
        "GET", f"/api/admin/users/{user}/generations?limit=0", **as_admin
    )
    assert status == 422 and body["detail"][0]["loc"] == ["query", "limit"]


async def test_an_events_token_for_another_user_is_minted_for_admins_only(api, funded_user):
    admin, user = str(uuid.uuid4()), await funded_user(100)
    status, minted, _ = await api.call(
        "POST", f"/api/events/token?user_id={user}", headers=api.auth(admin, role="admin")
    )
    assert status == 200
    # The token streams that user's events: its first event is their balance.
    async with api.session.get(f"/api/events?token={minted['token']}") as response:
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b"data:"):
                assert b'"credits": 100' in line
                break
    status, _, _ = await api.call("POST", f"/api/events/token?user_id={admin}", user)
    assert status == 404  # a user may not follow anyone else
    status, body, _ = await api.call(
        "POST", "/api/events/token?user_id=nope", headers=api.auth(admin, role="admin")
    )
    assert status == 422 and body["detail"][0]["loc"][-1] == "user_id"
