"""What the run ran on and with: the header printed first and kept in the JSON file."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

from bench_db import server_version
from bench_generation import inherited_settings
from bench_k6 import k6_binary
from bench_service import BENCH_SETS

REPO = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(db_label: str, libpq: str, scenarios: list[str]) -> dict:
    load = os.getloadavg()
    k6 = subprocess.run([k6_binary(), "version"], capture_output=True, text=True, timeout=30)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "loadavg": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "postgres": server_version(libpq),
        "database": db_label,
        "k6": k6.stdout.strip().split(" (")[0],
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "scenarios": scenarios,
        "service_settings": service_settings(),
    }


def service_settings() -> str:
    """What besides the defaults configures the services under test (never the tokens)."""
    mine = set(BENCH_SETS) | {"CREDITS_CALLER_TOKENS", "CREDITS_ADDRESS"}
    inherited = sorted(
        f"{k}={v}" for k, v in os.environ.items() if k.startswith("CREDITS_") and k not in mine
    )
    inherited += inherited_settings()
    parts = [f"from the environment: {' '.join(inherited)}"] if inherited else []
    if (REPO / ".env").exists():
        parts.append(".env exists and is read by the services")
    return "; ".join(parts) or "defaults"


def print_header(info: dict, args) -> None:
    print(
        f"credits bench  {info['started']}  nproc={info['nproc']}  "
        f"loadavg={' '.join(map(str, info['loadavg']))}  python {info['python']}  "
        f"postgres {info['postgres']} ({info['database']})  {info['k6']}"
    )
    print(
        f"{args.seconds} s measured + {args.warmup} s warmup per run; in flight "
        f"{args.levels} (CreateGeneration: {args.generation_in_flight}; webhooks: "
        f"{args.webhook_in_flight}); k6, the servers "
        f"and PostgreSQL share these {info['nproc']} cores"
    )
    print(f"scenarios: {', '.join(info['scenarios'])}")
    print(f"service settings: {info['service_settings']}", flush=True)
