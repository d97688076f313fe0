"""Where the CPU went during one run: the process under test, and everyone else.

The machine is small and shared, so a number means little without knowing whether the
server was saturated (a Python server tops out at 100% of one core) or whether
unrelated processes (someone's test suite) took cores away from the run.
Values are percent of one core (200% = both cores of a 2-core machine).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil


@dataclass
class CpuUse:
    subject_pct: float | None  # the process under test (server, or this process)
    others_pct: float          # processes unrelated to the benchmark
    machine_pct: float         # everything, from /proc/stat (idle and iowait excluded)


def _busy_seconds() -> float:
    """CPU seconds spent not idle since boot, all cores together."""
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def _snapshot() -> dict[int, tuple[float, float]]:
    """pid -> (create time, CPU seconds) for every process we may read."""
    found = {}
    for proc in psutil.process_iter():
        try:
            found[proc.pid] = (proc.create_time(), _cpu_seconds(proc))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _tree(pid: int | None) -> set[int]:
    if pid is None:
        return set()
    try:
        root = psutil.Process(pid)
        return {pid, *(p.pid for p in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


class CpuWatch:
    """``with CpuWatch(subject_pid, postmaster_pid) as watch: ...; watch.result``."""

    def __init__(self, subject_pid: int | None, postmaster_pid: int | None) -> None:
        self._subject = subject_pid
        self._postmaster = postmaster_pid
        self.result: CpuUse | None = None

    def _ours(self) -> set[int]:
        # This benchmark, its children (k6, servers, pgbench) and our PostgreSQL.
        return _tree(os.getpid()) | _tree(self._postmaster)

    def __enter__(self) -> "CpuWatch":
        self._ours_before = self._ours()
        self._before = _snapshot()
        self._busy = _busy_seconds()
        self._started = time.monotonic()
        self._started_wall = time.time()
        return self

    def __exit__(self, *exc_info) -> None:
        ours = self._ours_before | self._ours()
        after = _snapshot()
        busy = _busy_seconds() - self._busy
        wall = max(time.monotonic() - self._started, 1e-6)
        others = 0.0
        for pid, (created, cpu) in after.items():
            earlier = self._before.get(pid)
            # Processes that came and went inside the window are missed: good enough
            # to tell a quiet machine from a busy one.
            if pid in ours:
                continue
            if earlier and earlier[0] == created:
                others += cpu - earlier[1]
            elif created >= self._started_wall - 1.0:  # started inside the window
                others += cpu
        subject = None
        if self._subject in after and self._subject in self._before:
            subject = 100.0 * (after[self._subject][1] - self._before[self._subject][1]) / wall
        self.result = CpuUse(subject, 100.0 * others / wall, 100.0 * busy / wall)
