"""One request id from the edge to every service on its path: in each log line written
while serving it, in the answer's header, and in its error body."""

import logging
import uuid

PROMPT = "a red fox running through fresh snow"


def _ids_by_rpc(records) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for record in records:
        rpc = getattr(record, "rpc", None)
        if rpc:
            found.setdefault(rpc, set()).add(record.request_id)
    return found


async def test_a_request_id_reaches_every_service_on_its_path(api, caplog):
    caplog.set_level(logging.DEBUG)
    user = str(uuid.uuid4())
    chosen = "req-" + uuid.uuid4().hex[:12]
    status, created, headers = await api.call(
        "POST",
        "/api/generation/text-to-video",
        user,
        json={"prompt": PROMPT, "resolution": "480p"},
        headers={"X-Request-Id": chosen},
    )
    assert status == 200 and headers["X-Request-Id"] == chosen
    by_rpc = _ids_by_rpc(caplog.records)
    # The gateway called generation, which reserved at credits: all under the one id.
    assert by_rpc["generation.CreateGeneration"] == {chosen}
    assert by_rpc["credits.Reserve"] == {chosen}
    assert by_rpc["credits.EnsureAccount"] == {chosen}  # the account the gateway opened
    # Work no request asked for (the poller, settling) carries no request's id.
    background = by_rpc.get("credits.Capture", set())
    assert chosen not in background


async def test_errors_carry_the_id_and_a_bad_one_is_replaced(api):
    user = str(uuid.uuid4())
    status, body, headers = await api.call(
        "GET", "/api/generation/status/" + str(uuid.uuid4()), user, headers={"X-Request-Id": "x"}
    )
    assert status == 404 and body["request_id"] == headers["X-Request-Id"] == "x"
    forged = "not valid: spaces; and " + "x" * 200
    status, body, headers = await api.call(
        "GET", "/api/generation/status/" + str(uuid.uuid4()), user, headers={"X-Request-Id": forged}
    )
    assert status == 404 and headers["X-Request-Id"] != forged
    assert body["request_id"] == headers["X-Request-Id"] and len(body["request_id"]) == 32
