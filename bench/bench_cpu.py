"""Where the CPU went during one run: the process under test, and everyone else.

The machine is small and shared, so a number means little without knowing whether the
server was saturated (a Python server tops out at 100% of one core) or whether
unrelated processes (someone's test suite) took cores away from the run.
Values are percent of one core (200% = both cores of a 2-core machine).
"""

from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class CpuUse:
    subject_pct: float | None  # the process under test (server, or this process)
    others_pct: float  # processes unrelated to the benchmark
    machine_pct: float  # everything, from /proc/stat (idle and iowait excluded)
    # Named processes of ours (each with its children), e.g. {"credits": 40.0}; PostgreSQL
    # as "postgres" when it is the embedded server; "k6" = children that ended meanwhile.
    by_process: dict[str, float] = field(default_factory=dict)
    # Resident memory of the subject (with its children), MB: at the start, and the
    # most seen while it ran (sampled every RSS_EVERY_S).
    rss_start_mb: float | None = None
    rss_peak_mb: float | None = None


RSS_EVERY_S = 0.25


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of ``pid`` and its children, in MB (10^6 bytes)."""
    total, found = 0, False
    for one in _tree(pid):
        try:
            total += psutil.Process(one).memory_info().rss
            found = True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / 1e6 if found else None


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


def _exited_children_seconds() -> float:
    """CPU seconds of this process's children that ended and were waited for (k6)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree(pid: int | None) -> set[int]:
    if pid is None:
        return set()
    try:
        root = psutil.Process(pid)
        return {pid, *(p.pid for p in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def _used(pids: set[int], before: dict, after: dict, since_wall: float) -> float:
    """CPU seconds ``pids`` spent between the snapshots (those alive at the end)."""
    total = 0.0
    for pid in pids:
        if pid not in after:
            continue
        created, cpu = after[pid]
        earlier = before.get(pid)
        if earlier and earlier[0] == created:
            total += cpu - earlier[1]
        elif created >= since_wall - 1.0:  # started inside the window
            total += cpu
    return total


class CpuWatch:
    """``with CpuWatch(subject_pid, postmaster_pid, named) as watch: ...; watch.result``."""

    def __init__(
        self,
        subject_pid: int | None,
        postmaster_pid: int | None,
        named: dict[str, int] | None = None,
        subject_tree: bool = False,
    ) -> None:
        self._subject = subject_pid
        # The subject with its children (a service's supervisor and its *_WORKERS).
        self._subject_tree = subject_tree
        self._postmaster = postmaster_pid
        # named={} (not None): no process of ours to name, but k6 and postgres are split.
        self._split = named is not None
        self._named = dict(named or {})
        if postmaster_pid is not None and self._split:
            self._named["postgres"] = postmaster_pid
        self.result: CpuUse | None = None

    def _ours(self) -> set[int]:
        # This benchmark, its children (k6, servers, pgbench) and our PostgreSQL.
        return _tree(os.getpid()) | _tree(self._postmaster)

    def __enter__(self) -> CpuWatch:
        self._ours_before = self._ours()
        self._named_before = {name: _tree(pid) for name, pid in self._named.items()}
        self._subject_before = _tree(self._subject) if self._subject_tree else set()
        self._before = _snapshot()
        self._exited = _exited_children_seconds()
        self._busy = _busy_seconds()
        self._started = time.monotonic()
        self._started_wall = time.time()
        self._rss_start = rss_mb(self._subject)
        self._rss_peak = self._rss_start
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self._sampler.start()
        return self

    def _sample_rss(self) -> None:
        while not self._sampling.wait(RSS_EVERY_S):
            now = rss_mb(self._subject)
            if now is not None and (self._rss_peak is None or now > self._rss_peak):
                self._rss_peak = now

    def __exit__(self, *exc_info) -> None:
        self._sampling.set()
        self._sampler.join()
        ours = self._ours_before | self._ours()
        after = _snapshot()
        busy = _busy_seconds() - self._busy
        wall = max(time.monotonic() - self._started, 1e-6)
        # Processes that came and went inside the window are missed: good enough to tell
        # a quiet machine from a busy one.
        others = _used(set(after) - ours, self._before, after, self._started_wall)
        by_process = {
            name: 100.0
            * _used(self._named_before[name] | _tree(pid), self._before, after, self._started_wall)
            / wall
            for name, pid in self._named.items()
        }
        if self._split:
            by_process["k6"] = 100.0 * (_exited_children_seconds() - self._exited) / wall
        subject = None
        if self._subject_tree:
            pids = self._subject_before | _tree(self._subject)
            subject = 100.0 * _used(pids, self._before, after, self._started_wall) / wall
        elif self._subject in after and self._subject in self._before:
            subject = 100.0 * (after[self._subject][1] - self._before[self._subject][1]) / wall
        self.result = CpuUse(
            subject,
            100.0 * others / wall,
            100.0 * busy / wall,
            by_process,
            self._rss_start,
            self._rss_peak,
        )
