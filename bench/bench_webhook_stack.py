"""The servers behind the webhooks scenario, the predictions it names, and its preflight.

* the webhook gateway (python -m videogen_webhook_gateway.main) on the bench database, with a
  whsec_ secret generated per run, pointed at a generation upstream;
* that upstream: bench/stub_servers.py generation (acknowledges ApplyProviderUpdate at
  once) or the real generation service (started by bench_generation);
* bench/noop_http_server.py: an aiohttp handler that does nothing, the HTTP baseline.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import string
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
import httpx
import psycopg
from bench_generation import SERVICE_NAME as GENERATION_SERVICE
from bench_generation import GenerationStack
from bench_procs import SERVICE_LOG_LEVEL, ChildFailed, Processes, free_port, tail, wait_serving
from bench_service import python
from standardwebhooks import Webhook

from videogen.generation.v1 import generation_pb2 as gpb
from videogen.generation.v1 import generation_pb2_grpc as gpb_grpc
from videogen_common.caller_auth import caller_metadata

BENCH = Path(__file__).resolve().parent
WEBHOOK_PATH = "/api/webhooks/replicate"
LISTENING = re.compile(r"listening on (http://\S+)")
CREATE_CONCURRENCY = 16
# Settings the benchmark sets for the gateway; the payment endpoints stay closed.
GATEWAY_SETS = (
    "DATABASE_URL",
    "WEBHOOK_GATEWAY_HOST",
    "WEBHOOK_GATEWAY_PORT",
    "REPLICATE_WEBHOOK_SECRET",
    "GENERATION_ADDRESS",
    "WEBHOOK_GATEWAY_GENERATION_TOKEN",
    "LOG_LEVEL",
)
GATEWAY_UNSETS = ("STRIPE_WEBHOOK_SECRET", "DODO_WEBHOOK_SECRET")


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def wait_http(url: str, name: str, proc, log: Path, timeout_s: float = 60.0) -> None:
    """Block until GET ``url`` answers 200; fail fast if the process died."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ChildFailed(f"{name} exited with {proc.returncode}:\n{tail(log)}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise ChildFailed(f"{name}: {url} not 200 after {timeout_s:.0f} s:\n{tail(log)}")


def start_gateway(
    procs: Processes,
    *,
    label: str,
    database_url: str,
    generation_address: str,
    generation_token: str,
    secret: str,
    work: Path,
) -> tuple[str, int]:
    """Start the webhook gateway; once its upstream is ready: (webhook URL, pid)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in GATEWAY_UNSETS}
    env.update(
        {
            "DATABASE_URL": database_url,
            "WEBHOOK_GATEWAY_HOST": "127.0.0.1",
            "WEBHOOK_GATEWAY_PORT": str(port),
            "REPLICATE_WEBHOOK_SECRET": secret,
            "GENERATION_ADDRESS": generation_address,
            "WEBHOOK_GATEWAY_GENERATION_TOKEN": generation_token,
            "LOG_LEVEL": SERVICE_LOG_LEVEL,
        }
    )
    log = work / f"webhook-gateway-{label}.log"
    proc = procs.start(
        f"webhook gateway ({label})", [python(), "-m", "videogen_webhook_gateway.main"], log, env
    )
    base = f"http://127.0.0.1:{port}"
    # Readiness: the generation upstream answers its health check with SERVING.
    wait_http(f"{base}/api/webhooks/health", "webhook gateway", proc, log)
    return base + WEBHOOK_PATH, proc.pid


def start_noop_http(procs: Processes, work: Path, timeout_s: float = 30.0) -> tuple[str, int]:
    log = work / "noop-http-server.log"
    start = log.stat().st_size if log.exists() else 0  # appended to: only this start's lines
    proc = procs.start(
        "no-op HTTP server", [python(), str(BENCH / "noop_http_server.py"), "0"], log
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_bytes()[start:].decode(errors="replace"))
        if found:
            return found.group(1) + WEBHOOK_PATH, proc.pid
        if proc.poll() is not None:
            raise ChildFailed(f"no-op HTTP server exited with {proc.returncode}:\n{tail(log)}")
        time.sleep(0.1)
    raise ChildFailed(f"no-op HTTP server not listening after {timeout_s:.0f} s:\n{tail(log)}")


def start_ack(procs: Processes, work: Path) -> tuple[str, int]:
    address = f"127.0.0.1:{free_port()}"
    log = work / "ack-generation-server.log"
    proc = procs.start(
        "ack generation server",
        [python(), str(BENCH / "stub_servers.py"), "generation", address],
        log,
    )
    wait_serving(address, GENERATION_SERVICE, proc, log)
    return address, proc.pid


def _prediction_id() -> str:
    """Shaped like Replicate's: 26 lowercase letters and digits."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))


def fake_targets(count: int) -> list[dict]:
    """Generation ids and prediction ids nobody knows (for the ack server and the no-op)."""
    now = datetime.now(UTC).isoformat()
    return [
        {"generation_id": str(uuid.uuid4()), "prediction_id": _prediction_id(), "created_at": now}
        for _ in range(count)
    ]


async def _create(stack: GenerationStack, users: list[str], count: int, run: str) -> list[str]:
    gate = asyncio.Semaphore(CREATE_CONCURRENCY)
    async with grpc.aio.insecure_channel(stack.address) as channel:
        stub = gpb_grpc.GenerationServiceStub(channel)

        async def one(i: int) -> str:
            async with gate:
                reply = await stub.CreateGeneration(
                    gpb.CreateGenerationRequest(
                        user_id=users[i % len(users)],
                        idempotency_key=f"wh-{run}-{i}",
                        model="t2v-14B",
                        resolution="480p",
                        duration_s=5,
                        prompt=f"a red fox running through fresh snow, webhook target {i}",
                    ),
                    metadata=caller_metadata(stack.api_token),
                    timeout=30,
                )
                return reply.generation.id

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def real_targets(
    stack: GenerationStack, libpq: str, users: list[str], count: int, run: str
) -> list[dict]:
    """``count`` generations created through CreateGeneration, each with its prediction
    at the emulator (paused: they stay "starting"; its own webhooks are dropped)."""
    ids = asyncio.run(_create(stack, users, count, run))
    with psycopg.connect(libpq, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id::text, prediction_id, created_at FROM generation.generations"
            " WHERE id = ANY(%s::uuid[]) AND prediction_id IS NOT NULL"
            " AND status = 'starting'",
            (ids,),
        ).fetchall()
    if len(rows) != count:
        raise ChildFailed(
            f"of {count} generations created for the webhooks, only "
            f"{len(rows)} are 'starting' with a prediction id"
        )
    return [
        {"generation_id": gid, "prediction_id": pid, "created_at": created.isoformat()}
        for gid, pid, created in rows
    ]


def target_checks(libpq: str, targets: list[dict]) -> dict:
    """What the webhooks left on the generations they named."""
    ids = [t["generation_id"] for t in targets]
    with psycopg.connect(libpq, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT status, count(*), min(progress), max(progress), max(length(logs))"
            " FROM generation.generations WHERE id = ANY(%s::uuid[]) GROUP BY status",
            (ids,),
        ).fetchall()
    return {
        status: {"rows": n, "progress_min": lo, "progress_max": hi, "logs_chars_max": lg}
        for status, n, lo, hi, lg in rows
    }


def write_targets(targets: list[dict], path: Path) -> Path:
    path.write_text(json.dumps(targets))
    return path


def signed_post(
    client: httpx.Client, url: str, secret: str, msg_id: str, target: dict
) -> httpx.Response:
    """One webhook signed by the `standardwebhooks` package (empty logs)."""
    body = json.dumps(
        {
            "id": target["prediction_id"],
            "status": "processing",
            "logs": "",
            "output": None,
            "error": None,
            "created_at": target["created_at"],
        }
    )
    signature = Webhook(secret).sign(msg_id, datetime.now(UTC), body)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": signature,
    }
    return client.post(
        url,
        params={"generation_id": target["generation_id"]},
        content=body.encode(),
        headers=headers,
    )


def python_preflight(url: str, secret: str, target: dict) -> str:
    """A webhook signed in Python must pass; the same webhook-id again is a duplicate;
    a wrong signature is refused with 401."""
    msg_id = f"msg_preflight_{uuid.uuid4().hex}"
    with httpx.Client(timeout=30) as client:
        first = signed_post(client, url, secret, msg_id, target)
        again = signed_post(client, url, secret, msg_id, target)
        forged = signed_post(client, url, new_secret(), f"{msg_id}_forged", target)
    if first.status_code != 200 or first.json().get("duplicate") is not False:
        raise ChildFailed(f"preflight: {url} answered {first.status_code} {first.text[:200]}")
    if again.status_code != 200 or again.json().get("duplicate") is not True:
        raise ChildFailed(
            f"preflight: a resent webhook-id got {again.status_code} "
            f"{again.text[:200]} (expected a 200 duplicate)"
        )
    if forged.status_code != 401:
        raise ChildFailed(f"preflight: a forged signature got {forged.status_code}")
    return (
        f"python signed -> 200 {first.json().get('outcome')}; same id again -> 200 "
        "duplicate; wrong key -> 401"
    )
