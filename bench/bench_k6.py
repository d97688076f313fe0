"""Run bench/k6/grpc_load.js (KIND deduct or create) against one server; read its summary."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench_procs import ChildFailed, Processes, tail
from bench_report import Result

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
MEASURED = "{scenario:measure}"


@dataclass(frozen=True)
class K6Script:
    path: Path
    counter: str  # the script counts <counter>_ok / <counter>_errors, logs "<counter> failed"


DEDUCT = K6Script(BENCH / "k6" / "grpc_load.js", "deduct")
CREATE_GENERATION = K6Script(BENCH / "k6" / "grpc_load.js", "create")


def k6_command(script: Path, args: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """k6 run of ``script`` with ``args`` as its -e variables, and the environment to
    run it in: the caller's without K6_* settings, which k6 would otherwise also read."""
    cmd = [k6_binary(), "run", "--quiet", "--no-color", "--no-usage-report"]
    for name, value in args.items():
        cmd += ["-e", f"{name}={value}"]
    cmd.append(str(script))
    return cmd, {k: v for k, v in os.environ.items() if not k.startswith("K6_")}


def run_summarized(
    procs: Processes, label: str, cmd: list[str], log: Path, summary: Path, timeout_s: float, env
) -> None:
    """Run k6 until it writes its summary, twice at most: k6 itself has crashed (a Go
    panic in its JavaScript VM, seen once in a dozen runs) with nothing wrong on our side.
    The crash's first line is printed; a second failure stops the bench."""
    for attempt in (1, 2):
        code = procs.run(label, cmd, log, timeout_s=timeout_s, env=env)
        if summary.exists():
            return
        first = next(iter(log.read_text(errors="replace").splitlines()), "")
        print(f"  {label}: exited with {code} and no summary ({first[:200]})", flush=True)
        if attempt == 2:
            raise ChildFailed(f"k6 exited with {code} and no summary:\n{tail(log)}")


def k6_binary() -> str:
    venv = REPO / ".venv" / "bin" / "k6"
    if venv.exists():
        return str(venv)
    found = shutil.which("k6")
    if found is None:
        raise RuntimeError("k6 not found: `make bench` installs it (the bench group)")
    return found


def run_k6(
    procs: Processes,
    *,
    scenario: str,
    address: str,
    token: str,
    users_file: Path,
    run_id: str,
    vus: int,
    warmup_s: int,
    seconds: int,
    work: Path,
    proto_dir: Path | None = None,
    script: K6Script = DEDUCT,
) -> Result:
    summary = work / f"k6-{run_id}.json"
    log = work / f"k6-{run_id}.log"
    env_args = {
        "ADDR": address,
        "TOKEN": token,
        "USERS_FILE": str(users_file),
        "RUN_ID": run_id,
        "VUS": str(vus),
        "WARMUP_S": str(warmup_s),
        "MEASURE_S": str(seconds),
        "SUMMARY_FILE": str(summary),
        "KIND": script.counter,
    }
    if proto_dir is not None:
        env_args["PROTO_DIR"] = str(proto_dir)
    cmd, env = k6_command(script.path, env_args)
    run_summarized(procs, f"k6 {scenario}", cmd, log, summary, warmup_s + seconds + 60, env)
    result = parse_summary(json.loads(summary.read_text()), scenario, vus, seconds, script.counter)
    if result.errors:
        result.note = first_error(log, script.counter)
    return result


def parse_summary(
    data: dict, scenario: str, vus: int, seconds: int, counter: str = "deduct"
) -> Result:
    metrics = data["metrics"]
    ok = int(metrics[f"{counter}_ok{MEASURED}"]["values"]["count"])
    errors = int(metrics[f"{counter}_errors{MEASURED}"]["values"]["count"])
    latency = metrics.get(f"grpc_req_duration{MEASURED}", {}).get("values", {})
    return Result(
        # Throughput counts successes only: fast failures must not look like speed.
        scenario=scenario,
        in_flight=vus,
        requests=ok + errors,
        rps=ok / seconds,
        p50_ms=latency.get("med"),
        p99_ms=latency.get("p(99)"),
        mean_ms=latency.get("avg"),
        errors=errors,
    )


def first_error(log: Path, counter: str = "deduct") -> str:
    for line in log.read_text(errors="replace").splitlines():
        if f"{counter} failed" in line:
            return line.strip()[:300]
    return ""


def write_users(users: list[str], path: Path) -> Path:
    path.write_text(json.dumps(users))
    return path
