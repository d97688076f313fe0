"""Several processes serving one port: a supervisor and its workers (``*_WORKERS``).

One Python process uses one core. With ``*_WORKERS`` = N > 1 the service's process
becomes a supervisor that starts N workers (the same command with ``--worker i``); each
binds the service's port with SO_REUSEPORT, so the kernel spreads connections over them.
The supervisor starts a worker again when it dies, stops them all on SIGTERM/SIGINT, and
serves /metrics for all of them (prometheus_client's multiprocess mode: every worker
writes its samples to files in one directory, the supervisor sums them). A worker dies
with its supervisor (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import sys
import tempfile
import time

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

log = logging.getLogger(__name__)
WORKER_FLAG = "--worker"
SUPERVISOR_FLAG = "--supervisor"
# A worker that ran at least this long before it died is started again at once; one
# that keeps dying sooner waits longer each time (up to RESTART_DELAY_MAX_S).
STEADY_S = 60.0
RESTART_DELAY_MAX_S = 30.0
PR_SET_PDEATHSIG = 1


def _flag(name: str, argv: list[str] | None) -> int | None:
    argv = sys.argv if argv is None else argv
    return int(argv[argv.index(name) + 1]) if name in argv else None


def worker_index(argv: list[str] | None = None) -> int | None:
    """This process's worker number, or None for a process started by hand."""
    return _flag(WORKER_FLAG, argv)


def die_with_supervisor(argv: list[str] | None = None) -> None:
    """In a worker: be sent SIGTERM when the supervisor dies (even by kill -9), so no
    orphan keeps serving the port beside the next supervisor's workers. Armed by the
    worker itself (a preexec_fn is not safe in a process with threads, and the
    supervisor has its metrics thread); a supervisor gone before that means exit now."""
    supervisor = _flag(SUPERVISOR_FLAG, argv)
    if supervisor is None:
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:
        raise SystemExit("the supervisor of this worker is gone")


class Supervisor:
    def __init__(self, name: str, workers: int, metrics_port: int, grace_s: float) -> None:
        self.name, self.workers, self.metrics_port, self.grace_s = (
            name,
            workers,
            metrics_port,
            grace_s,
        )
        self.metrics_dir = tempfile.mkdtemp(prefix=f"videogen-{name}-metrics-")
        self.procs: list[asyncio.subprocess.Process] = []
        self.started: list[float] = []
        self.delays = [0.0] * workers

    async def _spawn(self, index: int) -> asyncio.subprocess.Process:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir}
        # orig_argv keeps "-m package.main" as it was given.
        argv = [
            sys.executable,
            *sys.orig_argv[1:],
            WORKER_FLAG,
            str(index),
            SUPERVISOR_FLAG,
            str(os.getpid()),
        ]
        proc = await asyncio.create_subprocess_exec(*argv, env=env)
        log.info("worker started", extra={"worker": index, "pid": proc.pid})
        return proc

    def _serve_metrics(self) -> None:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.metrics_dir)
        start_http_server(self.metrics_port, addr="0.0.0.0", registry=registry)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if self.metrics_port:
            self._serve_metrics()
        for index in range(self.workers):
            self.procs.append(await self._spawn(index))
            self.started.append(time.monotonic())
        stopping = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            exits = {asyncio.ensure_future(p.wait()): i for i, p in enumerate(self.procs)}
            done, pending = await asyncio.wait(
                {*exits, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending - {stopping}:
                task.cancel()
            if stop.is_set():
                break
            for task in done - {stopping}:
                await self._restart(exits[task], task.result(), stop)
        await self._stop_all()
        return 0

    async def _restart(self, index: int, code: int, stop: asyncio.Event) -> None:
        dead = self.procs[index]
        mark_process_dead(dead.pid, self.metrics_dir)
        ran_s = time.monotonic() - self.started[index]
        delay = (
            0.0 if ran_s >= STEADY_S else min(max(1.0, 2 * self.delays[index]), RESTART_DELAY_MAX_S)
        )
        self.delays[index] = delay
        log.error(
            "worker exited; starting it again",
            extra={"worker": index, "pid": dead.pid, "code": code, "delay_s": delay},
        )
        try:
            async with asyncio.timeout(delay):
                await stop.wait()
            return  # stopping: do not start it again
        except TimeoutError:
            pass
        self.procs[index] = await self._spawn(index)
        self.started[index] = time.monotonic()

    async def _stop_all(self) -> None:
        alive = [p for p in self.procs if p.returncode is None]
        for proc in alive:
            proc.send_signal(signal.SIGTERM)
        try:
            # The workers give their in-flight requests grace_s; a little more for exit.
            async with asyncio.timeout(self.grace_s + 5):
                await asyncio.gather(*(p.wait() for p in alive))
        except TimeoutError:
            for proc in alive:
                if proc.returncode is None:
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in alive))
        log.info(f"{self.name} workers stopped")


def supervise(name: str, workers: int, metrics_port: int, grace_s: float) -> int:
    supervisor = Supervisor(name, workers, metrics_port, grace_s)
    try:
        return asyncio.run(supervisor.run())
    finally:
        shutil.rmtree(supervisor.metrics_dir, ignore_errors=True)
