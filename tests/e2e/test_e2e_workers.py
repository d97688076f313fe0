"""*_WORKERS: several processes of one service on one port, as a pod runs them.

The real service processes (python -m ...main) with CREDITS_WORKERS=2 and
WEBHOOK_GATEWAY_WORKERS=2: both workers bind the same port, every call is answered,
/metrics (served by the supervisor) counts the calls of all of them, a worker killed
with -9 is started again while the other keeps serving, and SIGTERM stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys

import aiohttp
import grpc
import pytest

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.credits.v1 import credits_pb2_grpc
from videogen_common.caller_auth import AuthedStub
from videogen_common.testing.waits import free_ports

from .conftest import ROOT, TOKENS

CREDITS_INI = ROOT / "services" / "credits" / "alembic.ini"
GATEWAY_INI = ROOT / "services" / "webhook-gateway" / "alembic.ini"


class Supervised:
    """A service process started with *_WORKERS=2, its JSON log records as they come."""

    def __init__(self, module: str, env: dict[str, str]) -> None:
        self.module, self.env = module, env
        self.records: list[dict] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            env={**os.environ, **self.env},
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for line in self.proc.stderr:
            with contextlib.suppress(ValueError):
                self.records.append(json.loads(line))

    def listening(self) -> dict[int, dict]:
        """Worker number -> its latest "listening" record."""
        return {
            r["worker"]: r
            for r in self.records
            if r.get("message", "").endswith(" listening") and "worker" in r
        }

    async def wait(self, check, timeout_s: float = 30.0):
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if found := check():
                return found
            assert self.proc is not None and self.proc.returncode is None, self.records[-5:]
            await asyncio.sleep(0.1)
        raise AssertionError(f"not seen in {timeout_s} s; last records: {self.records[-5:]}")

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        if self._reader is not None:
            await self._reader
        return code


def _worker_pids(supervised: Supervised) -> list[int]:
    return [r["pid"] for r in supervised.records if r.get("message") == "worker started"]


async def _metric(port: int, name: str, label: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/") as resp:
        text = await resp.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and label in line
    )


async def _balance(port: int, user: str) -> int:
    # A channel per call: a new connection each time, spread over the workers.
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = AuthedStub(credits_pb2_grpc.CreditsServiceStub(channel), TOKENS["credits"]["api"])
        answer = await stub.EnsureAccount(cpb.EnsureAccountRequest(user_id=user), timeout=10)
        return answer.account.balance


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_two_credits_workers_share_a_port_and_the_metrics(fresh_database):
    port, metrics_port = free_ports(2)
    credits = Supervised(
        "videogen_credits.main",
        {
            "DATABASE_URL": fresh_database(CREDITS_INI),
            "CREDITS_CALLER_TOKENS": json.dumps(TOKENS["credits"]),
            "CREDITS_GRPC_ADDRESS": f"127.0.0.1:{port}",
            "CREDITS_METRICS_PORT": str(metrics_port),
            "CREDITS_WORKERS": "2",
        },
    )
    await credits.start()
    try:
        both = await credits.wait(lambda: len(credits.listening()) == 2 and credits.listening())
        assert {r["port"] for r in both.values()} == {port}
        assert len({r["pid"] for r in both.values()}) == 2
        user = "3f1c2a9e-0000-4000-8000-000000000001"
        balances = await asyncio.gather(*(_balance(port, user) for _ in range(20)))
        assert set(balances) == {100}  # one account, one signup grant, whoever answered
        calls = await _metric(metrics_port, "grpc_server_handled_total", 'method="EnsureAccount"')
        assert calls == 20

        first, second = (both[0]["pid"], both[1]["pid"])
        os.kill(first, signal.SIGKILL)
        await credits.wait(lambda: not _alive(first))  # reaped by the supervisor
        # The other worker serves the port alone (the kernel dropped the dead one's socket
        # from the group; calls it had taken were cut) while the first is started again.
        assert await _balance(port, user) == 100
        again = await credits.wait(
            lambda: (r := credits.listening().get(0)) and r["pid"] != first and r
        )
        assert again["port"] == port and _alive(second)
        assert await _balance(port, user) == 100
        assert await _metric(metrics_port, "grpc_server_handled_total", "EnsureAccount") >= 22
    finally:
        code = await credits.stop()
    assert code == 0
    assert not any(_alive(pid) for pid in _worker_pids(credits))


async def test_two_webhook_gateway_workers_answer_on_one_port(fresh_database):
    port, generation_port = free_ports(2)
    gateway = Supervised(
        "videogen_webhook_gateway.main",
        {
            "DATABASE_URL": fresh_database(GATEWAY_INI),
            "WEBHOOK_GATEWAY_PORT": str(port),
            "WEBHOOK_GATEWAY_WORKERS": "2",
            "WEBHOOK_GATEWAY_GENERATION_TOKEN": TOKENS["generation"]["webhooks"],
            "GENERATION_ADDRESS": f"127.0.0.1:{generation_port}",
            "REPLICATE_WEBHOOK_SECRET": "whsec_" + "d29ya2Vycy1zZWNyZXQ=",
        },
    )
    await gateway.start()
    try:
        both = await gateway.wait(lambda: len(gateway.listening()) == 2 and gateway.listening())
        assert {r["port"] for r in both.values()} == {port}
        assert len({r["pid"] for r in both.values()}) == 2
        for _ in range(10):
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"http://127.0.0.1:{port}/api/webhooks/replicate", json={}) as resp,
            ):
                # Unsigned: refused by whichever worker took it.
                assert resp.status == 400, await resp.text()
    finally:
        code = await gateway.stop()
    assert code == 0
    assert not any(_alive(pid) for pid in _worker_pids(gateway))


@pytest.mark.parametrize(
    "module,env",
    [
        ("videogen_credits.main", {"CREDITS_GRPC_ADDRESS": "127.0.0.1:0"}),
        ("videogen_webhook_gateway.main", {"WEBHOOK_GATEWAY_PORT": "0"}),
    ],
)
async def test_workers_without_a_fixed_port_are_refused(module, env):
    name = "CREDITS_WORKERS" if "credits" in module else "WEBHOOK_GATEWAY_WORKERS"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        env={
            **os.environ,
            **env,
            name: "2",
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "CREDITS_CALLER_TOKENS": json.dumps(TOKENS["credits"]),
            "WEBHOOK_GATEWAY_GENERATION_TOKEN": TOKENS["generation"]["webhooks"],
        },
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert f"{name} > 1 needs a fixed port" in err.decode()


async def test_workers_stop_when_their_supervisor_is_killed(fresh_database):
    port = free_ports(1)[0]
    credits = Supervised(
        "videogen_credits.main",
        {
            "DATABASE_URL": fresh_database(CREDITS_INI),
            "CREDITS_CALLER_TOKENS": json.dumps(TOKENS["credits"]),
            "CREDITS_GRPC_ADDRESS": f"127.0.0.1:{port}",
            "CREDITS_WORKERS": "2",
        },
    )
    await credits.start()
    both = await credits.wait(lambda: len(credits.listening()) == 2 and credits.listening())
    workers = [r["pid"] for r in both.values()]
    assert credits.proc is not None
    credits.proc.kill()  # kill -9: nothing of the supervisor's own code runs

    async def gone() -> bool:
        for _ in range(300):
            if not any(_alive(pid) for pid in workers):
                return True
            await asyncio.sleep(0.1)
        return False

    # No orphan keeps serving the port beside the next supervisor's workers.
    try:
        assert await gone(), [pid for pid in workers if _alive(pid)]
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    # (asyncio's wait() also waits for the workers' ends of the log pipe to close.)
    assert await credits.stop() == -signal.SIGKILL
