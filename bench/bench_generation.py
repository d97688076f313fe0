"""CreateGeneration end to end: the generation service and the Replicate emulator.

The generation service (python -m videogen_generation.main) runs as in production: it writes the
row, holds its price at the credits service the benchmark already started (Reserve over
gRPC, with the credits "generation" token) and creates the prediction with the official
Replicate client. The emulator answers creates at once and spends nothing afterwards:
lifecycles are paused (every prediction stays "starting") and webhooks are dropped, so
what is measured is the request path alone. Recovery runs once at start, on an empty
table, and then not for an hour.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
from bench_procs import SERVICE_LOG_LEVEL, ChildFailed, Processes, free_port, tail, wait_serving
from bench_report import percentile
from bench_service import Tokens, python, random_token

SERVICE_NAME = "videogen.generation.v1.GenerationService"
# Paused predictions never end, and the emulator forgets only ended ones: room for all.
EMULATOR_CONFIG = {"paused": True, "webhook_drop_all": True, "max_predictions": 1_000_000}
LISTENING = re.compile(r"listening on (http://\S+)")
NOTHING_LISTENS = "http://127.0.0.1:9"  # discard port: webhooks would go nowhere
RECOVERY_INTERVAL_S = 3600
# Settings the benchmark sets (everything else: defaults, .env, the environment).
GENERATION_SETS = (
    "DATABASE_URL",
    "GENERATION_CALLER_TOKENS",
    "GENERATION_GRPC_ADDRESS",
    "GENERATION_CREDITS_TOKEN",
    "CREDITS_ADDRESS",
    "REPLICATE_API_TOKEN",
    "REPLICATE_BASE_URL",
    "WEBHOOK_PUBLIC_URL",
    "GENERATION_MEDIA_DIR",
    "MEDIA_URL_SECRET",
    "GENERATION_RECOVERY_INTERVAL_S",
    "GENERATION_METRICS_PORT",
    "LOG_LEVEL",
)


def start_emulator(
    procs: Processes, work: Path, token: str, timeout_s: float = 30.0
) -> tuple[str, int]:
    """Start `python -m replicate_emulator` on a free port: (base URL, pid)."""
    log = work / "replicate-emulator.log"
    cmd = [
        python(),
        "-m",
        "replicate_emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--config-json",
        json.dumps(EMULATOR_CONFIG),
    ]
    # The token goes by environment (the emulator's default), not on the command line.
    env = {**os.environ, "REPLICATE_API_TOKEN": token}
    # The log is appended to: a second emulator in the same run (the webhooks scenario)
    # must not read the first one's address.
    start = log.stat().st_size if log.exists() else 0
    proc = procs.start("replicate emulator", cmd, log, env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_bytes()[start:].decode(errors="replace"))
        if found:
            return found.group(1), proc.pid
        if proc.poll() is not None:
            raise ChildFailed(f"replicate emulator exited with {proc.returncode}:\n{tail(log)}")
        time.sleep(0.1)
    raise ChildFailed(f"replicate emulator not listening after {timeout_s:.0f} s:\n{tail(log)}")


def generation_env(
    *,
    database_url: str,
    address: str,
    tokens: dict[str, str],
    credits_address: str,
    credits_token: str,
    emulator_url: str,
    replicate_token: str,
    media: Path,
) -> dict[str, str]:
    """What the benchmark sets for the generation service (GENERATION_SETS); a unit test
    checks that the service's settings accept it, so the bench cannot fall behind them."""
    return {
        "DATABASE_URL": database_url,
        "GENERATION_CALLER_TOKENS": json.dumps(tokens),
        "GENERATION_GRPC_ADDRESS": address,
        "GENERATION_CREDITS_TOKEN": credits_token,
        "CREDITS_ADDRESS": credits_address,
        "REPLICATE_API_TOKEN": replicate_token,
        "REPLICATE_BASE_URL": emulator_url,
        "WEBHOOK_PUBLIC_URL": NOTHING_LISTENS,
        "GENERATION_MEDIA_DIR": str(media),
        # Required since media links are signed; made up per run like the tokens.
        "MEDIA_URL_SECRET": random_token(48),
        "GENERATION_RECOVERY_INTERVAL_S": str(RECOVERY_INTERVAL_S),
        "GENERATION_METRICS_PORT": "0",
        "LOG_LEVEL": SERVICE_LOG_LEVEL,
    }


def start_generation(
    procs: Processes,
    *,
    database_url: str,
    credits_address: str,
    credits_tokens: Tokens,
    emulator_url: str,
    replicate_token: str,
    work: Path,
) -> tuple[str, int, str, str]:
    """Start `python -m videogen_generation.main`: (address, pid, its "api" and "webhooks" caller
    tokens)."""
    address = f"127.0.0.1:{free_port()}"
    api_token, webhooks_token = random_token(), random_token()
    media = work / "media"
    media.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **generation_env(
            database_url=database_url,
            address=address,
            tokens={"api": api_token, "webhooks": webhooks_token},
            credits_address=credits_address,
            credits_token=credits_tokens.generation,
            emulator_url=emulator_url,
            replicate_token=replicate_token,
            media=media,
        ),
    }
    log = work / "generation-service.log"
    proc = procs.start("generation service", [python(), "-m", "videogen_generation.main"], log, env)
    wait_serving(address, SERVICE_NAME, proc, log)
    return address, proc.pid, api_token, webhooks_token


@dataclass(frozen=True)
class GenerationStack:
    address: str
    pid: int
    api_token: str  # the generation service's "api" caller token
    emulator_url: str
    emulator_pid: int
    replicate_token: str
    webhooks_token: str  # its "webhooks" caller token (the webhook gateway's identity)


def start_generation_stack(
    procs: Processes, *, database_url: str, credits_address: str, credits_tokens: Tokens, work: Path
) -> GenerationStack:
    """The emulator, then the generation service pointed at it and at credits."""
    replicate_token = "r8_" + random_token()
    emulator_url, emulator_pid = start_emulator(procs, work, replicate_token)
    address, pid, api_token, webhooks_token = start_generation(
        procs,
        database_url=database_url,
        credits_address=credits_address,
        credits_tokens=credits_tokens,
        emulator_url=emulator_url,
        replicate_token=replicate_token,
        work=work,
    )
    return GenerationStack(
        address, pid, api_token, emulator_url, emulator_pid, replicate_token, webhooks_token
    )


# Where a CreateGeneration's time goes, from the clock times its steps left behind (the
# database's now() is each transaction's start; the emulator stamps a prediction when the
# create request arrives): the row's INSERT, the hold at credits, the create
# reaching Replicate, the UPDATE storing the prediction id, and the last UPDATE (applying
# the prediction's status) just before the answer.
STAMPS = """
SELECT g.id::text, g.created_at, h.created_at, g.submitted_at, g.updated_at
  FROM generation.generations g
  JOIN credits.holds h ON h.reference = g.id::text
 WHERE g.submitted_at IS NOT NULL
"""
PHASES = (
    "INSERT -> Reserve at credits",
    "Reserve -> create at Replicate",
    "create at Replicate -> id stored",
    "id stored -> status applied",
)


def predictions_created(stack: GenerationStack, pages_max: int = 1000) -> dict[str, datetime]:
    """generation id -> when the emulator received its create (from the list API)."""
    found: dict[str, datetime] = {}
    url: str | None = f"{stack.emulator_url}/v1/predictions"
    with httpx.Client(
        headers={"Authorization": f"Bearer {stack.replicate_token}"}, timeout=30
    ) as client:
        for _ in range(pages_max):
            if url is None:
                break
            page = client.get(url).raise_for_status().json()
            for prediction in page["results"]:
                query = parse_qs(urlparse(prediction.get("webhook") or "").query)
                for generation_id in query.get("generation_id", []):
                    found[generation_id] = datetime.fromisoformat(prediction["created_at"])
            url = page.get("next")
    return found


def generation_checks(libpq: str, stack: GenerationStack) -> dict:
    """What the load left in generation.generations (warmups included), and the phases."""
    with psycopg.connect(libpq, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), count(prediction_id),"
            " count(*) FILTER (WHERE charge IN ('reserved', 'captured', 'charged')),"
            " count(*) FILTER (WHERE status = 'starting') FROM generation.generations"
        ).fetchone()
        stamps = conn.execute(STAMPS).fetchall()
    received = predictions_created(stack)
    spans: list[list[float]] = [[] for _ in PHASES]
    for generation_id, inserted, deducted, stored, applied in stamps:
        if generation_id in received:
            times = (inserted, deducted, received[generation_id], stored, applied)
            for i in range(len(PHASES)):
                spans[i].append((times[i + 1] - times[i]).total_seconds() * 1000.0)
    phases = {}
    for name, values in zip(PHASES, spans, strict=False):
        values.sort()
        phases[name] = [percentile(values, 0.50), percentile(values, 0.99)]
    return {
        "generations": row[0],
        "generations_submitted": row[1],
        "generations_charged": row[2],
        "generations_starting": row[3],
        "generation_phases_ms_p50_p99": phases,
        "generation_phases_rows": len(spans[0]),
    }


def phase_lines(checks: dict) -> list[str]:
    phases = checks.get("generation_phases_ms_p50_p99") or {}
    return [
        f"  {name:<34} p50 {_ms(p50):>7} ms  p99 {_ms(p99):>7} ms"
        for name, (p50, p99) in phases.items()
    ]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def inherited_settings() -> list[str]:
    """GENERATION_*/REPLICATE_*/WEBHOOK_GATEWAY_* variables the services inherit from the
    caller's shell (the webhook gateway's own settings are set by the bench)."""
    mine = set(GENERATION_SETS) | {
        "GENERATION_ADDRESS",
        "REPLICATE_WEBHOOK_SECRET",
        "WEBHOOK_GATEWAY_HOST",
        "WEBHOOK_GATEWAY_PORT",
        "WEBHOOK_GATEWAY_GENERATION_TOKEN",
    }
    secret = ("TOKEN", "SECRET")
    return sorted(
        f"{k}={'***' if any(s in k for s in secret) else v}"
        for k, v in os.environ.items()
        if k.startswith(("GENERATION_", "REPLICATE_", "WEBHOOK_GATEWAY_")) and k not in mine
    )
