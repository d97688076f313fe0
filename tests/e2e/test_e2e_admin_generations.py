"""Admin routes over generations: the ones still open, and one's history of changes."""

import uuid


async def test_stuck_generations_and_a_history_for_admins_only(api, stack, wait_for):
    admin, user = str(uuid.uuid4()), str(uuid.uuid4())
    stack.emulator.update_config({"paused": True, "webhook_drop_all": True})
    status, created, _ = await api.call(
        "POST",
        "/api/generation/text-to-video",
        user,
        json={"prompt": "a red fox running through the snow", "resolution": "480p"},
    )
    assert status == 200
    as_admin = {"headers": api.auth(admin, role="admin")}
    status, stuck, _ = await api.call(
        "GET", "/api/admin/generations/stuck?older_than_s=0", **as_admin
    )
    assert status == 200 and created["id"] in [g["id"] for g in stuck["generations"]]
    status, recent, _ = await api.call(
        "GET", "/api/admin/generations/stuck?older_than_s=3600", **as_admin
    )
    assert created["id"] not in [g["id"] for g in recent["generations"]]  # not that old
    status, history, _ = await api.call(
        "GET", f"/api/admin/generations/{created['id']}", **as_admin
    )
    assert status == 200 and history["generation"]["user_id"] == user
    assert history["generation"]["job_id"] == stack.emulator.store.all()[-1].id
    assert [c["status"] for c in history["changes"]][:1] == ["queued"]
    assert history["changes"][-1]["charge"] == "reserved"  # held while it renders
    # The admin surface does not exist for anyone else, and bad input is a 422.
    status, _, _ = await api.call("GET", "/api/admin/generations/stuck", user)
    assert status == 404
    status, _, _ = await api.call("GET", f"/api/admin/generations/{created['id']}", user)
    assert status == 404
    status, body, _ = await api.call(
        "GET", "/api/admin/generations/stuck?older_than_s=-1", **as_admin
    )
    assert status == 422 and body["detail"][0]["loc"] == ["query", "older_than_s"]
    status, _, _ = await api.call("GET", f"/api/admin/generations/{uuid.uuid4()}", **as_admin)
    assert status == 404
