"""What the stack costs to hold and to start: the API gateway under load, every service's
resident memory idle and under load, and `make run`'s start-up from a fresh clone.

  * api: GET /api/users/credits through the real API gateway (JWT checked, credits asked
    over gRPC) under k6 at --webhook-in-flight;
  * startup: `git clone` of this repository's HEAD into a new directory, then `make run`
    there twice: cold (no .venv, no generated stubs, no database: uv installs the
    workspace from its cache, initdb, migrations) and warm (all of it there), each timed
    to its "stack is up" line and stopped with Ctrl-C. Once the warm stack is up, each
    service's resident memory is read too: `make run` installs only what running needs
    (no test, bench or lint groups), as the image does, whereas this benchmark's own
    services run in the development .venv, where optional imports find more (the
    Replicate client's numpy support, httpx's command line with rich).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import jwt
import psutil
from bench_cpu import rss_mb
from bench_k6 import k6_command, run_summarized
from bench_procs import SERVICE_LOG_LEVEL, ChildFailed, Processes, free_port, tail
from bench_report import (
    CREDITS,
    CREDITS_HOT,
    GENERATION,
    WEBHOOK_ACK,
    WEBHOOK_REAL,
    Result,
)
from bench_service import Tokens, fund_accounts, python, random_token, start_credits
from bench_webhook_stack import wait_http
from bench_webhooks import parse_summary

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
API = "api gateway GET /api/users/credits (k6)"
API_USERS = 64
RSS_IDLE_TARGET_MB = 120.0
# Which results load which service (the peak under load is the most any of them saw).
LOADS = {
    "credits": (CREDITS, CREDITS_HOT),
    "generation": (GENERATION,),
    "webhook-gateway": (WEBHOOK_ACK, WEBHOOK_REAL),
    "api-gateway": (API,),
}
STARTUP_TIMEOUT_S = 600
IDLE_SETTLE_S = 2.0
# How `make run` starts each service (scripts/stack_services.py).
MODULES = {
    "credits": "videogen_credits.main",
    "generation": "videogen_generation.main",
    "webhook-gateway": "videogen_webhook_gateway.main",
    "api-gateway": "videogen_api_gateway.main",
}


def start_api_gateway(
    procs: Processes, *, credits_address: str, tokens: Tokens, jwt_secret: str, work: Path
) -> tuple[str, int]:
    """The API gateway in front of credits (generation is not asked by these routes)."""
    port = free_port()
    env = {
        **os.environ,
        "API_GATEWAY_HOST": "127.0.0.1",
        "API_GATEWAY_PORT": str(port),
        "AUTH_JWT_SECRET": jwt_secret,
        "CREDITS_ADDRESS": credits_address,
        "API_GATEWAY_CREDITS_TOKEN": tokens.api,
        "API_GATEWAY_CREDITS_ADMIN_TOKEN": tokens.admin,
        "GENERATION_ADDRESS": f"127.0.0.1:{free_port()}",
        "API_GATEWAY_GENERATION_TOKEN": random_token(),
        "API_GATEWAY_EVENTS_SECRET": random_token(40),
        "LOG_LEVEL": SERVICE_LOG_LEVEL,
    }
    log = work / "api-gateway.log"
    proc = procs.start("api gateway", [python(), "-m", "videogen_api_gateway.main"], log, env)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", "api gateway", proc, log)
    return base, proc.pid


def _user_tokens(users: list[str], secret: str) -> list[str]:
    exp = int(time.time()) + 3600
    return [
        jwt.encode(
            {"sub": u, "aud": "authenticated", "role": "authenticated", "exp": exp},
            secret,
            algorithm="HS256",
        )
        for u in users
    ]


def _k6_api(bench, url: str, tokens_file: Path, vus: int) -> Result:
    run_id = uuid.uuid4().hex[:10]
    summary, log = bench.work / f"k6-{run_id}.json", bench.work / f"k6-{run_id}.log"
    args = {
        "URL": url,
        "TOKENS_FILE": str(tokens_file),
        "VUS": str(vus),
        "WARMUP_S": str(bench.args.warmup),
        "MEASURE_S": str(bench.args.seconds),
        "SUMMARY_FILE": str(summary),
    }
    cmd, env = k6_command(BENCH / "k6" / "api_credits.js", args)
    timeout_s = bench.args.warmup + bench.args.seconds + 60
    run_summarized(bench.procs, f"k6 {API}", cmd, log, summary, timeout_s, env)
    result = parse_summary(json.loads(summary.read_text()), API, vus, bench.args.seconds, "api")
    if result.errors:
        lines = log.read_text(errors="replace").splitlines()
        result.note = next((ln.strip()[:300] for ln in lines if "api failed" in ln), "")
    return result


def run_api(bench) -> list[Result]:
    tokens, secret = Tokens.fresh(), random_token(40)
    credits_address, credits_pid = start_credits(
        bench.procs, bench.db.url, tokens, bench.work, None, "credits-service-api"
    )
    try:
        url, pid = start_api_gateway(
            bench.procs,
            credits_address=credits_address,
            tokens=tokens,
            jwt_secret=secret,
            work=bench.work,
        )
        bench.note_idle("api-gateway", pid)
        users = asyncio.run(fund_accounts(credits_address, tokens, API_USERS, uuid.uuid4().hex))
        tokens_file = bench.work / "api-tokens.json"
        tokens_file.write_text(json.dumps(_user_tokens(users, secret)))
        vus = bench.args.webhook_in_flight
        result = bench._watched(
            pid, lambda: _k6_api(bench, url, tokens_file, vus), {"credits": credits_pid}
        )
        result.subject = "api gateway"
        return [result]
    finally:
        bench.procs.stop_all()


def _services_rss(make: int) -> dict[str, float | None]:
    """Resident memory, MB, of each service `make run` (process ``make``) runs; each
    child starts a session of its own, so they are found as descendants."""
    found: dict[str, float | None] = {}
    try:
        descendants = psutil.Process(make).children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for proc in descendants:
        try:
            command = proc.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for name, module in MODULES.items():
            if module in command:
                found[name] = rss_mb(proc.pid)
    return found


def _time_make_run(clone: Path, log: Path) -> tuple[float, dict[str, float | None]]:
    """Seconds from `make run` to its "stack is up" line, and each service's resident
    memory a moment later; then Ctrl-C and wait."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VIRTUAL_ENV")}
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C goes to make and everything it started
        )
        try:
            while "stack is up" not in log.read_text(errors="replace"):
                if proc.poll() is not None:
                    raise ChildFailed(f"make run exited with {proc.returncode}:\n{tail(log)}")
                if time.monotonic() - started > STARTUP_TIMEOUT_S:
                    raise ChildFailed(f"make run not up in {STARTUP_TIMEOUT_S} s:\n{tail(log)}")
                time.sleep(0.1)
            up_s = time.monotonic() - started
            time.sleep(IDLE_SETTLE_S)
            rss = _services_rss(proc.pid)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
    return up_s, rss


def run_startup(bench) -> dict:
    with tempfile.TemporaryDirectory(prefix="vg-bench-clone-") as where:
        clone = Path(where) / "repo"
        subprocess.run(
            ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True
        )
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=clone,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        cold, _ = _time_make_run(clone, bench.work / "make-run-cold.log")
        print(f"make run from a fresh clone: up in {cold:.1f} s", flush=True)
        warm, rss = _time_make_run(clone, bench.work / "make-run-warm.log")
        print(f"make run again: up in {warm:.1f} s", flush=True)
    return {"commit": head, "cold_s": cold, "warm_s": warm, "rss_idle_mb": rss}


def footprint(results: list[Result], checks: dict) -> dict:
    idle = checks.get("rss_idle_mb", {})
    as_run = (checks.get("startup") or {}).get("rss_idle_mb") or {}
    found = {}
    for name, scenarios in LOADS.items():
        peaks = [r.rss_peak_mb for r in results if r.scenario in scenarios and r.rss_peak_mb]
        if name in idle or peaks or name in as_run:
            found[name] = {
                "idle_mb": idle.get(name),
                "load_mb": max(peaks, default=None),
                "make_run_idle_mb": as_run.get(name),
            }
    return found


def _mb(value: float | None) -> str:
    return "     -" if value is None else f"{value:6.1f}"


def footprint_lines(found: dict, startup: dict | None) -> str:
    lines = []
    if found:
        lines.append(
            f"resident memory (RSS) of each service, MB: idle after start, and the most under"
            f" load (target idle <= {RSS_IDLE_TARGET_MB:.0f} MB); idle as `make run` runs it"
            f" (runtime packages only, as in the image):"
        )
        for name, mb in found.items():
            idle, load = mb["idle_mb"], mb["load_mb"]
            state = "-" if idle is None else "MET" if idle <= RSS_IDLE_TARGET_MB else "NOT MET"
            lines.append(
                f"  {name:<16} idle {_mb(idle)}  under load {_mb(load)}  ({state})"
                f"  make run idle {_mb(mb.get('make_run_idle_mb'))}"
            )
    if startup:
        lines.append(
            f"make run from a fresh clone of {startup['commit']}: stack up in "
            f"{startup['cold_s']:.1f} s cold, {startup['warm_s']:.1f} s warm"
        )
    return "\n".join(lines)
