"""pgbench calling the seed design's seed.deduct_credits: PostgreSQL's own ceiling.

Throughput and mean latency come from pgbench's report; p50/p99 from its
per-transaction log (-l), which costs pgbench little at these rates.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench_db import SEED_USERS, pgbench_binary
from bench_procs import ChildFailed, Processes, tail
from bench_report import PGBENCH, PGBENCH_HOT, Result, percentile

THREADS = 2  # the machine has 2 cores; more client threads would only contend

SCRIPT = f"""\\set n random(1, {SEED_USERS})
SELECT seed.deduct_credits((SELECT id FROM seed.users WHERE n = :n), 1, gen_random_uuid());
"""
# Every client on the same row: how fast PostgreSQL itself serializes one hot account.
HOT_SCRIPT = (
    "SELECT seed.deduct_credits((SELECT id FROM seed.users WHERE n = 1), 1, gen_random_uuid());\n"
)


def run_pgbench(
    procs: Processes,
    *,
    libpq: str,
    clients: int,
    warmup_s: int,
    seconds: int,
    work: Path,
    hot: bool = False,
) -> Result:
    tag = f"pgbench-{'hot-' if hot else ''}{clients}"
    script = work / f"{tag}.pgbench.sql"
    script.write_text(HOT_SCRIPT if hot else SCRIPT)
    if warmup_s:
        _pgbench(procs, libpq, script, clients, warmup_s, work / f"{tag}-warmup.log", [])
    log_dir = work / tag
    log_dir.mkdir()
    out = work / f"{tag}.log"
    code = _pgbench(
        procs, libpq, script, clients, seconds, out, ["-l", f"--log-prefix={log_dir / 'tx'}"]
    )
    text = out.read_text(errors="replace")
    result = parse_report(text, clients)
    if hot:
        result.scenario = PGBENCH_HOT
    latencies = read_latencies(log_dir)
    result.p50_ms = percentile(latencies, 0.50)
    result.p99_ms = percentile(latencies, 0.99)
    if code != 0:
        result.note = f"pgbench exited with {code}: {_last_error(text)}"
    return result


def _pgbench(
    procs: Processes,
    libpq: str,
    script: Path,
    clients: int,
    seconds: int,
    out: Path,
    extra: list[str],
) -> int:
    cmd = [
        pgbench_binary(),
        "-n",
        "-c",
        str(clients),
        "-j",
        str(min(THREADS, clients)),
        "-T",
        str(seconds),
        "-f",
        str(script),
        *extra,
        libpq,
    ]
    code = procs.run(f"pgbench -c {clients}", cmd, out, timeout_s=seconds + 60)
    if "tps =" not in out.read_text(errors="replace"):
        raise ChildFailed(f"pgbench exited with {code} and no report:\n{tail(out)}")
    return code


def _number(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    return float(match.group(1)) if match else None


def parse_report(text: str, clients: int) -> Result:
    tps = _number(r"tps = ([0-9.]+) \(without initial connection time\)", text)
    processed = _number(r"number of transactions actually processed: (\d+)", text)
    failed = _number(r"number of failed transactions: (\d+)", text)
    return Result(
        scenario=PGBENCH,
        in_flight=clients,
        requests=int(processed or 0),
        rps=tps or 0.0,
        p50_ms=None,
        p99_ms=None,
        mean_ms=_number(r"latency average = ([0-9.]+) ms", text),
        errors=int(failed or 0),
    )


def read_latencies(log_dir: Path) -> list[float]:
    """Milliseconds from every thread's log; line: client tx time_us script epoch us."""
    values: list[float] = []
    for path in log_dir.iterdir():
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():  # "failed"/"skipped" otherwise
                values.append(int(fields[2]) / 1000.0)
    values.sort()
    return values


def _last_error(text: str) -> str:
    lines = [ln for ln in text.splitlines() if "error" in ln.lower()] or text.strip().splitlines()
    return lines[-1][:300] if lines else ""
