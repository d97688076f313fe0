"""The two gRPC servers under load: the real credits service and the no-op one."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import string
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
from bench_procs import SERVICE_LOG_LEVEL, Processes, free_port, wait_serving

from videogen.credits.v1 import credits_pb2 as pb
from videogen.credits.v1 import credits_pb2_grpc as pb_grpc
from videogen_common.caller_auth import caller_metadata

REPO = Path(__file__).resolve().parent.parent
SERVICE_NAME = "videogen.credits.v1.CreditsService"
FUND_AMOUNT = 10_000_000
FUND_CONCURRENCY = 32
# Service settings the benchmark itself sets (everything else: defaults, .env, env).
BENCH_SETS = (
    "DATABASE_URL",
    "CREDITS_GRPC_ADDRESS",
    "CREDITS_AMOUNT_MAX",
    "LOG_LEVEL",
    "CREDITS_METRICS_PORT",
)


def python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def random_token(length: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class Tokens:
    generation: str
    admin: str
    api: str

    @classmethod
    def fresh(cls) -> Tokens:
        return cls(random_token(), random_token(), random_token())

    def as_json(self) -> str:
        return json.dumps({"generation": self.generation, "admin": self.admin, "api": self.api})


def start_credits(
    procs: Processes,
    database_url: str,
    tokens: Tokens,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    name: str = "credits-service",
) -> tuple[str, int]:
    """Start `python -m videogen_credits.main` on a free loopback port: (address, pid)."""
    address = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CREDITS_CALLER_TOKENS": tokens.as_json(),
        "CREDITS_GRPC_ADDRESS": address,
        # The funding Add is 10M; the default ceiling per request is 1M.
        "CREDITS_AMOUNT_MAX": str(FUND_AMOUNT),
        "LOG_LEVEL": SERVICE_LOG_LEVEL,
        "CREDITS_METRICS_PORT": "0",
        **(extra_env or {}),
    }
    log = log_dir / f"{name}.log"
    proc = procs.start("credits service", [python(), "-m", "videogen_credits.main"], log, env)
    wait_serving(address, SERVICE_NAME, proc, log)
    return address, proc.pid


def start_noop(procs: Processes, log_dir: Path) -> tuple[str, int]:
    address = f"127.0.0.1:{free_port()}"
    log = log_dir / "noop-server.log"
    script = str(Path(__file__).resolve().parent / "stub_servers.py")
    proc = procs.start("no-op server", [python(), script, "credits", address], log)
    wait_serving(address, SERVICE_NAME, proc, log)
    return address, proc.pid


async def _fund_one(stub, tokens: Tokens, user_id: str, run_id: str) -> None:
    await stub.EnsureAccount(
        pb.EnsureAccountRequest(user_id=user_id), metadata=caller_metadata(tokens.api), timeout=30
    )
    reply = await stub.Add(
        pb.AddRequest(
            user_id=user_id,
            amount=FUND_AMOUNT,
            kind=pb.ENTRY_KIND_ADMIN_ADJUSTMENT,
            idempotency_key=f"bench-fund-{run_id}-{user_id}",
            description="benchmark funding",
            actor="credits-bench",
        ),
        metadata=caller_metadata(tokens.admin),
        timeout=30,
    )
    if reply.balance < FUND_AMOUNT:
        raise RuntimeError(f"funding {user_id} left balance {reply.balance}")


async def fund_accounts(address: str, tokens: Tokens, count: int, run_id: str) -> list[str]:
    """Open ``count`` accounts through the service and give each a large balance."""
    users = [str(uuid.uuid4()) for _ in range(count)]
    gate = asyncio.Semaphore(FUND_CONCURRENCY)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CreditsServiceStub(channel)

        async def one(user_id: str) -> None:
            async with gate:
                await _fund_one(stub, tokens, user_id, run_id)

        await asyncio.gather(*(one(u) for u in users))
    return users


async def reconcile(address: str, tokens: Tokens) -> tuple[int, int]:
    """(accounts checked, drifts): the ledger must still add up after the load."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.CreditsServiceStub(channel)
        reply = await stub.Reconcile(
            pb.ReconcileRequest(), metadata=caller_metadata(tokens.admin), timeout=60
        )
    return reply.accounts_checked, len(reply.drifts)


def usage_entries(libpq: str) -> int:
    """Committed Deducts, to set against the OK counts k6 saw (warmups included)."""
    import psycopg

    with psycopg.connect(libpq, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM credits.entries WHERE kind = 'usage'")
        return int(row.fetchone()[0])
