"""`make run`: the whole stack on one machine, in the foreground.

1. Database: DATABASE_URL, or the embedded PostgreSQL (.data/postgres, database videogen),
   migrated with migrate.py.
2. Every service in SERVICES as a child process, started in order, each awaited until
   its health check answers SERVING.
3. Ctrl-C or SIGTERM stops the children newest first (SIGTERM, then SIGKILL after a
   timeout), then the embedded PostgreSQL. If a child dies, everything is stopped and
   this exits non-zero showing the child's last output.

Children's output goes to this terminal's stderr, each line prefixed with the service.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

import health_check
import migrate

PYTHON = sys.executable  # the venv's python when started by make
READY_TIMEOUT_S = 30.0
# Beyond the child's own SHUTDOWN_GRACE_S, for closing pools and flushing logs.
STOP_MARGIN_S = 5.0
TAIL_LINES = 30
CALLERS = ("api", "generation", "payments", "admin")
# Asked for without a host, a server on these listens everywhere, localhost included.
WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


async def grpc_serving(address: str) -> bool:
    try:
        status = await asyncio.to_thread(health_check.check, address, "", 1.0)
    except grpc.RpcError:
        return False  # not listening yet, or still starting
    return status == health_check.SERVING


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    address_env: str  # the variable the service reads its listening address from
    default_address: str
    metrics_env: str | None = None
    # HTTP services (the gateways) will bring their own readiness probe.
    ready: Callable[[str], Awaitable[bool]] = grpc_serving


# Started in this order, stopped in reverse: list a service after those it calls.
SERVICES = [
    ServiceSpec("credits", (PYTHON, "-m", "credits.main"), "CREDITS_GRPC_ADDRESS",
                "127.0.0.1:50051", metrics_env="CREDITS_METRICS_PORT"),
]
NAME_WIDTH = max(len(spec.name) for spec in SERVICES)


class ChildFailed(Exception):
    def __init__(self, child: Child, why: str) -> None:
        super().__init__(f"{child.spec.name} {why}")
        self.child = child


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived before the stack was up."""


class Child:
    """One service process: its output is echoed with a prefix, the last lines kept."""

    def __init__(self, spec: ServiceSpec, process: asyncio.subprocess.Process,
                 address: str) -> None:
        self.spec, self.process, self.address = spec, process, address
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.echo = asyncio.create_task(self._echo())

    async def _echo(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            print(f"{self.spec.name:<{NAME_WIDTH}} | {line}", file=sys.stderr, flush=True)

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def exit_status(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"


def say(message: str) -> None:
    print(f"run_stack: {message}", flush=True)


def dev_caller_tokens() -> str:
    """Fresh random tokens for this run only: nothing to configure, nothing to leak."""
    return json.dumps({caller: secrets.token_urlsafe(32) for caller in CALLERS})


def stack_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    for spec in SERVICES:
        env[spec.address_env] = env.get(spec.address_env) or spec.default_address
    if not env.get("CREDITS_CALLER_TOKENS"):
        env["CREDITS_CALLER_TOKENS"] = dev_caller_tokens()
        say(f"generated caller tokens for this run ({', '.join(CALLERS)}; not shown); "
            "set CREDITS_CALLER_TOKENS in .env to choose your own")
    return env


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise SystemExit(f"run_stack: {address!r} is not host:port")
    return host, int(port)


def probe_address(address: str) -> str:
    """Where to reach a server that was told to listen on ``address``."""
    host, port = split_address(address)
    if port == 0:
        raise SystemExit(f"run_stack: {address}: give a fixed port so it can be probed")
    return f"127.0.0.1:{port}" if host in WILDCARD_HOSTS else address


def port_in_use(address: str) -> bool:
    # Something already answering (say, a stack left running elsewhere) would pass
    # our health probe before the new child fails to bind, so refuse up front.
    host, port = split_address(address)
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=0.5):
            return True
    except OSError:
        return False


def die_with_parent() -> Callable[[], None] | None:
    """Linux: a child gets SIGTERM if run_stack is killed without cleaning up (kill -9)."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved here: the forked child should only make the call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm)


async def start_child(spec: ServiceSpec, env: dict[str, str]) -> Child:
    address = probe_address(env[spec.address_env])
    if port_in_use(address):
        raise SystemExit(f"run_stack: {address} is already in use; is another stack running?")
    process = await asyncio.create_subprocess_exec(
        *spec.argv, cwd=migrate.ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, limit=1 << 20,
        # Own process group: Ctrl-C reaches only us, and we stop children in order.
        start_new_session=True, preexec_fn=die_with_parent(),
    )
    say(f"started {spec.name} (pid {process.pid})")
    return Child(spec, process, address)


async def wait_ready(child: Child, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while loop.time() < deadline:
        if stop.is_set():
            raise Interrupted
        if not child.running:
            raise ChildFailed(child, f"exited while starting ({child.exit_status()})")
        if await child.spec.ready(child.address):
            return
        await asyncio.sleep(0.2)
    raise ChildFailed(child, f"was not SERVING on {child.address} after {READY_TIMEOUT_S:.0f} s")


def signal_group(child: Child, sig: signal.Signals) -> None:
    # The child may have exited (and been reaped) since we last looked.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.process.pid, sig)


async def stop_child(child: Child, timeout_s: float) -> None:
    if child.running:
        signal_group(child, signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), timeout_s)
        except TimeoutError:
            say(f"{child.spec.name} still running after {timeout_s:.0f} s; killing it")
            signal_group(child, signal.SIGKILL)
            await child.process.wait()
    # Let the echo task print whatever the child wrote last.
    await asyncio.wait([child.echo], timeout=2.0)


async def stop_all(children: list[Child], env: dict[str, str]) -> None:
    timeout_s = float(env.get("SHUTDOWN_GRACE_S") or 10.0) + STOP_MARGIN_S
    for child in reversed(children):
        await stop_child(child, timeout_s)
        say(f"stopped {child.spec.name} ({child.exit_status()})")


async def until_stop_or_exit(children: list[Child], stop: asyncio.Event) -> None:
    exits = {asyncio.create_task(child.process.wait()): child for child in children}
    stopped = asyncio.create_task(stop.wait())
    done, pending = await asyncio.wait([stopped, *exits], return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        if task in exits:
            child = exits[task]
            raise ChildFailed(child, f"exited unexpectedly ({child.exit_status()})")


def print_ready(children: list[Child], env: dict[str, str], database: str) -> None:
    python = os.path.relpath(PYTHON)
    health = os.path.relpath(Path(health_check.__file__))
    lines = ["stack is up", f"  {'database':<{NAME_WIDTH + 9}} {database}"]
    for child in children:
        lines.append(f"  {child.spec.name + ' (gRPC)':<{NAME_WIDTH + 9}} {child.address}")
        metrics_port = env.get(child.spec.metrics_env or "") or "0"
        if metrics_port != "0":
            lines.append(f"  {child.spec.name + ' metrics':<{NAME_WIDTH + 9}} "
                         f"http://127.0.0.1:{metrics_port}/metrics")
    lines.append(f"  try: {python} {health} {children[0].address}")
    lines.append("  Ctrl-C stops everything")
    say("\n".join(lines))


def report_failure(exc: ChildFailed) -> None:
    print(f"\nrun_stack: {exc}; its last output:", file=sys.stderr)
    for line in exc.child.tail or ["(nothing)"]:
        print(f"  {line}", file=sys.stderr)


async def start_all(children: list[Child], env: dict[str, str], stop: asyncio.Event) -> None:
    for spec in SERVICES:
        children.append(await start_child(spec, env))
        await wait_ready(children[-1], stop)


async def run(env: dict[str, str], database: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    children: list[Child] = []
    failure: ChildFailed | None = None
    try:
        await start_all(children, env, stop)
        print_ready(children, env, database)
        await until_stop_or_exit(children, stop)
        say("stopping")
    except Interrupted:
        say("interrupted while starting; stopping")
    except ChildFailed as exc:
        failure = exc
    finally:
        await stop_all(children, env)
    if failure is not None:
        report_failure(failure)
        return 1
    return 0


def raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Until the event loop takes over, SIGTERM and SIGHUP unwind like Ctrl-C, so the
    # embedded PostgreSQL is still stopped by its exit handler.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_interrupt)
    migrate.configure_logging()
    migrate.load_env_file()
    try:
        url = migrate.migrated_database_url()
        return asyncio.run(run(stack_env(url), migrate.describe(url)))
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
