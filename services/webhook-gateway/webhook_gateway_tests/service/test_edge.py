"""The gateway by itself: what it refuses, what it ignores once, and when it tells the
sender to retry. Every refusal is counted and leaves no delivery behind."""

from __future__ import annotations

import json

import psycopg
import pytest
from prometheus_client import REGISTRY

from ..helpers import replicate_headers, stripe_headers

REPLICATE = "/api/webhooks/replicate?generation_id=6f1c1d3e-8a55-4d6b-9d55-2f1b8e0c4a11"
PREDICTION = json.dumps({"id": "p1", "status": "succeeded", "output": "https://x/v.mp4"})


def rejected(source: str, reason: str) -> float:
    labels = {"source": source, "reason": reason}
    return REGISTRY.get_sample_value("webhooks_rejected_total", labels) or 0.0


def deliveries(database_url: str) -> int:
    with psycopg.connect(database_url.replace("+psycopg", "")) as db:
        return db.execute("SELECT count(*) FROM webhook_gateway.deliveries").fetchone()[0]


OTHER_SECRET = "whsec_" + "YW5vdGhlci1zZWNyZXQtbm90LW91cnMtMzItYnl0ZXM="
HUGE = "[" + "0," * (5 * 1024 * 1024) + "0]"
REFUSALS = {
    "signed with another secret": (
        401,
        "signature",
        lambda: (PREDICTION, replicate_headers(PREDICTION, secret=OTHER_SECRET)),
    ),
    "replayed from an hour ago": (
        401,
        "signature",
        lambda: (PREDICTION, replicate_headers(PREDICTION, age_s=3600)),
    ),
    "body changed after signing": (
        401,
        "signature",
        lambda: (PREDICTION.replace("succeeded", "failed"), replicate_headers(PREDICTION)),
    ),
    "no signature headers": (
        400,
        "malformed",
        lambda: (PREDICTION, {"content-type": "application/json"}),
    ),
    "signed but not JSON": (400, "malformed", lambda: ("not json", replicate_headers("not json"))),
    "not JSON at all": (415, "media_type", lambda: (PREDICTION, {"content-type": "text/plain"})),
    "larger than the limit": (413, "too_large", lambda: (HUGE, replicate_headers(HUGE))),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_a_bad_replicate_webhook_is_refused_counted_and_not_recorded(
    gateway, gateway_db, case
):
    status, reason, make = REFUSALS[case]
    body, headers = make()
    before = rejected("replicate", reason)
    async with gateway.post(REPLICATE, data=body.encode(), headers=headers) as response:
        assert response.status == status
        assert (await response.json())["detail"]
    assert rejected("replicate", reason) == before + 1
    assert deliveries(gateway_db) == 0


async def test_a_forged_stripe_event_is_401(gateway, gateway_db):
    body = json.dumps({"id": "evt_1", "type": "checkout.session.completed", "data": {}})
    headers = {**stripe_headers(body), "Stripe-Signature": "t=1,v1=" + "0" * 64}
    async with gateway.post("/api/webhooks/stripe", data=body, headers=headers) as response:
        assert response.status == 401
    assert deliveries(gateway_db) == 0


async def test_an_event_nobody_acts_on_is_ignored_once_and_then_a_duplicate(gateway, gateway_db):
    body = json.dumps({"id": "evt_ignored_1", "type": "customer.created", "data": {"object": {}}})
    async with gateway.post("/api/webhooks/stripe", data=body, headers=stripe_headers(body)) as r:
        first = (r.status, await r.json())
    async with gateway.post("/api/webhooks/stripe", data=body, headers=stripe_headers(body)) as r:
        again = (r.status, await r.json())
    assert first[0] == 200 and first[1]["outcome"].startswith("ignored")
    assert again == (200, {"status": "ok", "duplicate": True})
    assert deliveries(gateway_db) == 1


async def test_an_authentic_webhook_with_generation_down_is_503_and_kept_retryable(
    gateway, gateway_db
):
    headers = replicate_headers(PREDICTION)
    for _ in range(2):  # the same delivery, retried by its sender: never marked as seen
        async with gateway.post(REPLICATE, data=PREDICTION, headers=headers) as response:
            assert response.status == 503
    assert deliveries(gateway_db) == 0


async def test_health_is_up_and_readiness_names_the_missing_upstreams(gateway):
    async with gateway.get("/health") as response:
        assert response.status == 200
    async with gateway.get("/api/webhooks/health") as response:
        assert response.status == 503
        assert (await response.json())["upstreams"] == {"generation": False, "credits": False}
