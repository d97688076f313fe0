"""Child processes of the benchmark: started, waited for, and always stopped.

Every child gets its own session, so a Ctrl-C in the terminal reaches only the
benchmark, which then stops the children itself, in order (load generator before the
server, servers before the database is dropped).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from videogen_common.testing.waits import free_port  # noqa: F401  (the benchmarks' import)

STOP_GRACE_S = 10.0
# The services' LOG_LEVEL under load: WARNING (no line per request) unless
# BENCH_SERVICE_LOG_LEVEL=INFO asks what the per-request lines cost.
SERVICE_LOG_LEVEL = os.environ.get("BENCH_SERVICE_LOG_LEVEL", "WARNING")


class ChildFailed(RuntimeError):
    pass


class Processes:
    """The registry of live children; ``stop_all`` is safe to call at any point."""

    def __init__(self) -> None:
        self._live: list[tuple[str, subprocess.Popen]] = []

    def start(
        self, name: str, cmd: list[str], log_path: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._live.append((name, proc))
        return proc

    def run(
        self,
        name: str,
        cmd: list[str],
        log_path: Path,
        timeout_s: float,
        env: dict[str, str] | None = None,
    ) -> int:
        """Run to completion; on timeout or any interruption the child is stopped."""
        proc = self.start(name, cmd, log_path, env)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise ChildFailed(
                f"{name} did not finish within {timeout_s:.0f} s; see {log_path}"
            ) from None
        finally:
            self.stop(proc)

    def stop(self, proc: subprocess.Popen) -> None:
        self._live = [(n, p) for n, p in self._live if p is not proc]
        _stop_group(proc)

    def stop_all(self) -> None:
        # Newest first: the load generator goes before the server it is loading.
        while self._live:
            _name, proc = self._live.pop()
            _stop_group(proc)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the child leads its own session and group
    except ProcessLookupError:
        pass


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def wait_serving(
    address: str, service: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 60.0
) -> None:
    """Block until grpc.health.v1 says SERVING for ``service``; fail fast if it died."""
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ChildFailed(f"{service} exited with {proc.returncode}:\n{tail(log_path)}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass  # not listening yet, or the service is not registered yet
            time.sleep(0.2)
    raise ChildFailed(
        f"{service} at {address} not SERVING after {timeout_s:.0f} s:\n{tail(log_path)}"
    )


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
