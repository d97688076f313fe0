"""The services' child processes under `make run`: starting each and awaiting its
readiness, echoing its output with the service's name in front, stopping them all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable, Mapping

import migrate
from stack_probes import port_in_use
from stack_services import SERVICES, Env, ServiceSpec, say

READY_TIMEOUT_S = 30.0
# Beyond the child's own SHUTDOWN_GRACE_S, for closing pools and flushing logs.
STOP_MARGIN_S = 5.0
TAIL_LINES = 30
NAME_WIDTH = max(len(spec.name) for spec in SERVICES)


class ChildFailed(Exception):
    def __init__(self, child: Child, why: str) -> None:
        super().__init__(f"{child.spec.name} {why}")
        self.child = child


class Interrupted(Exception):
    """Ctrl-C or SIGTERM arrived before the stack was up."""


class Child:
    """One service process: its output is echoed with a prefix, the last lines kept."""

    def __init__(
        self, spec: ServiceSpec, process: asyncio.subprocess.Process, address: str
    ) -> None:
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


def die_with_parent() -> Callable[[], None] | None:
    """Linux: a child gets SIGTERM if run_stack is killed without cleaning up (kill -9)."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved here: the forked child should only make the call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm)


async def start_child(spec: ServiceSpec, env: Env, address: str) -> Child:
    if port_in_use(address):
        raise SystemExit(f"run_stack: {address} is already in use; is another stack running?")
    process = await asyncio.create_subprocess_exec(
        *spec.argv,
        *spec.extra_argv(env),
        cwd=migrate.ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        limit=1 << 20,
        # Own process group: Ctrl-C reaches only us, and we stop children in order.
        start_new_session=True,
        preexec_fn=die_with_parent(),
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
    raise ChildFailed(child, f"was not ready on {child.address} after {READY_TIMEOUT_S:.0f} s")


async def start_all(
    children: list[Child],
    specs: list[ServiceSpec],
    env: Env,
    at: Mapping[str, str],
    stop: asyncio.Event,
) -> None:
    """Each service in order, ready before the next starts. ``children`` gets every one
    started, so that the caller can stop them even when this fails."""
    for spec in specs:
        children.append(await start_child(spec, env, at[spec.name]))
        await wait_ready(children[-1], stop)


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
