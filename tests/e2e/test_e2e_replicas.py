"""Two replicas of every service on one machine (loopback, distinct ports, clients that
spread their calls over both), and the same results as with one: a job started on one
generation replica finished by the other, sweeps that both credits replicas run settling
once, a webhook delivered to both gateways applied once, events fanned out to whichever
API replica a browser reached, and gRPC load that really lands on both credits replicas."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from standardwebhooks import Webhook

from replicate_emulator import start_emulator
from videogen.credits.v1 import credits_pb2 as cpb
from videogen.credits.v1 import credits_pb2_grpc
from videogen.generation.v1 import generation_pb2_grpc as gpb_grpc
from videogen_api_gateway.main import start as start_api
from videogen_api_gateway.settings import ApiGatewaySettings
from videogen_common.caller_auth import AuthedStub
from videogen_common.grpc_client import open_channel
from videogen_common.testing.http import ApiClient
from videogen_common.testing.waits import eventually, free_port
from videogen_credits.main import start as start_credits
from videogen_credits.settings import CreditsSettings
from videogen_generation.main import start as start_generation
from videogen_webhook_gateway.main import start as start_gateway
from videogen_webhook_gateway.settings import WebhookGatewaySettings

from .conftest import JWT_SECRET, MEDIA_URL_SECRET, TOKENS, generation_settings
from .test_e2e_events import read_events

PROMPT = "a red fox running through fresh snow"


@dataclass
class Pair:
    emulator: object
    credits: list
    generation: list
    webhooks: list
    apis: list[ApiClient]
    credits_admin: AuthedStub
    credits_generation: AuthedStub  # as generation calls it (Reserve)
    channels: list


def both(apps) -> str:
    return ",".join(f"127.0.0.1:{app.port}" for app in apps)


@pytest.fixture
async def pair(service_urls, tmp_path, emulator_config):
    emulator = await start_emulator(emulator_config)
    credits = [
        await start_credits(
            CreditsSettings(
                _env_file=None,
                database_url=service_urls["credits"],
                credits_caller_tokens=TOKENS["credits"],
                credits_grpc_address="127.0.0.1:0",
            )
        )
        for _ in range(2)
    ]
    gateway_ports = [free_port(), free_port()]
    generation = [
        await start_generation(
            generation_settings(
                service_urls["generation"],
                0,
                emulator,
                f"http://127.0.0.1:{gateway_ports[0]}",  # Replicate posts to one URL
                media_dir=tmp_path / "media",  # shared, as a bucket would be
                credits_address=both(credits),
            )
        )
        for _ in range(2)
    ]
    webhooks = [
        await start_gateway(
            WebhookGatewaySettings(
                _env_file=None,
                database_url=service_urls["webhook-gateway"],
                webhook_gateway_port=port,
                replicate_webhook_secret=emulator.webhook_secret,
                generation_address=both(generation),
                webhook_gateway_generation_token=TOKENS["generation"]["webhooks"],
            )
        )
        for port in gateway_ports
    ]
    values = dict(
        api_gateway_port=0,
        auth_jwt_secret=JWT_SECRET,
        api_gateway_events_secret="e2e-events-secret-of-at-least-32-chars",
        media_url_secret=MEDIA_URL_SECRET,
        credits_address=both(credits),
        generation_address=both(generation),
        api_gateway_credits_token=TOKENS["credits"]["api"],
        api_gateway_credits_admin_token=TOKENS["credits"]["admin"],
        api_gateway_generation_token=TOKENS["generation"]["api"],
        api_gateway_rate_limit_storage="redis://127.0.0.1:6379",
        api_gateway_generation_rate_limit="3/minute",
        api_gateway_media_dir=tmp_path / "media",
        api_gateway_sse_ping_s=1.0,
    )
    apis, sessions = [], []
    for _ in range(2):
        app = await start_api(ApiGatewaySettings(_env_file=None, **values))
        session = aiohttp.ClientSession(base_url=app.base_url)
        sessions.append(session)
        apis.append(ApiClient(app, session, values, JWT_SECRET))
    channel = open_channel(both(credits))
    stub = credits_pb2_grpc.CreditsServiceStub(channel)
    yield Pair(
        emulator,
        credits,
        generation,
        webhooks,
        apis,
        AuthedStub(stub, TOKENS["credits"]["admin"]),
        AuthedStub(stub, TOKENS["credits"]["generation"]),
        [channel],
    )
    await channel.close()
    for session in sessions:
        await session.close()
    for api in apis:
        await api.app.stop()
    for app in webhooks:
        await app.stop()
    for app in generation:
        await app.stop(0)
    for app in credits:
        await app.stop(0)
    await emulator.stop()


async def _balance(api: ApiClient, user: str) -> int:
    return (await api.call("GET", "/api/users/credits", user))[1]["credits"]


async def test_a_job_started_on_one_generation_replica_is_finished_by_the_other(pair, t2v_request):
    user = str(uuid.uuid4())
    assert await _balance(pair.apis[0], user) == 100
    pair.emulator.update_config({"paused": True, "webhook_drop_all": True})
    first = pair.generation[0]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as channel:
        stub = AuthedStub(gpb_grpc.GenerationServiceStub(channel), TOKENS["generation"]["api"])
        created = (await stub.CreateGeneration(t2v_request(user, "replicas"))).generation
    await first.stop(0)  # the replica that took the job is gone; the other polls on
    pair.generation.remove(first)
    pair.emulator.update_config({"paused": False})

    async def completed():
        status, body, _ = await pair.apis[1].call(
            "GET", f"/api/generation/status/{created.id}", user
        )
        return body if status == 200 and body["status"] == "completed" else None

    await eventually(completed, timeout_s=30)
    assert await _balance(pair.apis[0], user) == 90  # charged once
    assert len(pair.emulator.store.all()) == 1  # submitted once, whoever finished it


async def test_both_credits_replicas_sweep_and_each_grant_and_hold_settles_once(pair):
    user = str(uuid.uuid4())
    assert await _balance(pair.apis[0], user) == 100
    soon = Timestamp()
    soon.FromDatetime(datetime.now(UTC) + timedelta(seconds=1))
    await pair.credits_admin.GrantCredits(
        cpb.GrantCreditsRequest(
            user_id=user,
            amount=50,
            source=cpb.GRANT_SOURCE_PROMO,
            expires_at=soon,
            reference="promo-replicas",
            idempotency_key="promo-replicas",
            actor="test",
        )
    )
    await pair.credits_generation.Reserve(
        cpb.ReserveRequest(
            user_id=user, amount=30, reference=str(uuid.uuid4()), idempotency_key="h", timeout_s=1
        )
    )
    await asyncio.sleep(1.5)  # both the grant's expiry and the hold's timeout have passed
    for _ in range(3):
        await asyncio.gather(*(c.sweeper.run_once() for c in pair.credits))
    entries = (
        await pair.credits_admin.ListTransactions(
            cpb.ListTransactionsRequest(user_id=user, page_size=100)
        )
    ).entries
    # The hold drew on the promo first; released after the promo expired, its share
    # expires again at once: 20 then 30, the 50 once in all.
    expiries = [e.amount for e in entries if e.kind == cpb.ENTRY_KIND_EXPIRY]
    assert sorted(expiries) == [-30, -20]
    account = (await pair.credits_admin.GetBalance(cpb.GetBalanceRequest(user_id=user))).account
    assert (account.available, account.reserved, account.total) == (100, 0, 100)
    assert sum(e.amount for e in entries) == 100


async def test_a_webhook_delivered_to_both_gateways_is_applied_once(pair):
    user = str(uuid.uuid4())
    pair.emulator.update_config({"paused": True, "webhook_drop_all": True})
    _, created, _ = await pair.apis[0].call(
        "POST", "/api/generation/text-to-video", user, json={"prompt": PROMPT, "resolution": "480p"}
    )
    [job] = pair.emulator.store.all()
    body = json.dumps({"id": job.id, "status": "failed", "error": "boom", "output": None})
    webhook_id, at = f"msg_{secrets.token_hex(8)}", datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(pair.emulator.webhook_secret).sign(webhook_id, at, body),
        "content-type": "application/json",
    }
    answers = []
    async with aiohttp.ClientSession() as session:
        for gateway in pair.webhooks:
            url = f"{gateway.base_url}/api/webhooks/replicate?generation_id={created['id']}"
            async with session.post(url, data=body.encode(), headers=headers) as response:
                answers.append((response.status, (await response.json()).get("duplicate", False)))
    assert answers == [(200, False), (200, True)]

    async def refunded():
        status, got, _ = await pair.apis[1].call(
            "GET", f"/api/generation/status/{created['id']}", user
        )
        return got if got["status"] == "failed" else None

    await eventually(refunded)
    assert await _balance(pair.apis[1], user) == 100  # refunded once


async def test_events_reach_a_browser_on_the_other_api_replica(pair):
    user = str(uuid.uuid4())
    watcher, maker = pair.apis
    async with watcher.session.get("/api/events", headers=watcher.auth(user)) as stream:
        await read_events(stream, lambda e: any(x["event"] == "balance" for x in e))
        _, created, _ = await maker.call(
            "POST",
            "/api/generation/text-to-video",
            user,
            json={"prompt": PROMPT, "resolution": "480p"},
        )

        def finished(events):
            return any(
                e["event"] == "generation" and e["data"]["status"] == "completed" for e in events
            )

        events = await read_events(stream, finished, timeout_s=30)
    assert {e["data"]["id"] for e in events if e["event"] == "generation"} == {created["id"]}
    assert [e["data"]["credits"] for e in events if e["event"] == "balance"][-1] == 90


async def test_the_rate_limit_is_one_across_both_api_replicas(pair):
    user = str(uuid.uuid4())
    codes = []
    for api in (*pair.apis, *pair.apis):
        status, _, _ = await api.call(
            "POST",
            "/api/generation/text-to-video",
            user,
            json={"prompt": PROMPT, "resolution": "480p"},
        )
        codes.append(status)
    assert codes == [200, 200, 200, 429]


def _served(metrics_port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.decode().splitlines()
        if line.startswith("grpc_server_handled_total{") and 'method="EnsureAccount"' in line
    )


async def test_calls_spread_over_two_credits_processes(service_urls, tmp_path):
    """As processes, each with its own /metrics: the proof is in what each one counted."""
    processes, metrics = [], []
    ports = [free_port(), free_port()]
    try:
        for port in ports:
            metrics.append(free_port())
            env = dict(
                os.environ,
                DATABASE_URL=service_urls["credits"],
                CREDITS_CALLER_TOKENS=json.dumps(TOKENS["credits"]),
                CREDITS_GRPC_ADDRESS=f"127.0.0.1:{port}",
                CREDITS_METRICS_PORT=str(metrics[-1]),
            )
            with open(tmp_path / f"credits-{port}.log", "w") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "videogen_credits.main"],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        channel = open_channel(",".join(f"127.0.0.1:{p}" for p in ports))
        stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(channel), TOKENS["credits"]["api"])

        async def both_up():
            try:
                for m in metrics:
                    urllib.request.urlopen(f"http://127.0.0.1:{m}/metrics", timeout=1)
                return True
            except OSError:
                return False

        await eventually(both_up, timeout_s=30)
        await channel.channel_ready()
        answered, deadline = 0, time.monotonic() + 30
        while answered < 40 and time.monotonic() < deadline:
            try:
                await stub.EnsureAccount(cpb.EnsureAccountRequest(user_id=str(uuid.uuid4())))
                answered += 1
            except grpc.RpcError:
                await asyncio.sleep(0.1)  # a replica not yet SERVING its database
        counts = [_served(m) for m in metrics]
        await channel.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
    assert answered == 40 and min(counts) >= 10, counts  # round robin: each its share
