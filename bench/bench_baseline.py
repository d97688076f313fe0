"""The credits service as it was before grants and holds, to measure side by side.

Its source is taken from git (BASELINE_REV, the last revision with one balance per
account), extracted into the run's work directory with its own generated stubs, and run
with those sources first on the import path, against a database of its own on the same
server, migrated by its own migrations. The same k6 Deduct script drives it and today's
service in the same run, at the same load.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import uuid
from io import BytesIO
from pathlib import Path

import psycopg
from bench_procs import Processes, free_port, wait_serving
from bench_service import FUND_AMOUNT, SERVICE_NAME, Tokens, python

from videogen_common.db import libpq_url, with_database

REPO = Path(__file__).resolve().parent.parent
BASELINE_REV = "1c9f9ae"  # "Fuzz every RPC...": the ledger before grants and holds


def _extract(work: Path) -> Path:
    target = work / "baseline"
    if (target / ".extracted").exists():
        return target
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BASELINE_REV, "protos", "libs", "services/credits"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    gen = target / "gen" / "python"
    gen.mkdir(parents=True)
    protos = sorted(
        str(p.relative_to(target / "protos")) for p in (target / "protos").rglob("*.proto")
    )
    subprocess.run(
        [
            python(),
            "-m",
            "grpc_tools.protoc",
            "-Iprotos",
            f"--python_out={gen}",
            f"--grpc_python_out={gen}",
            *protos,
        ],
        cwd=target,
        check=True,
    )
    (target / ".extracted").touch()
    return target


def _pythonpath(tree: Path) -> str:
    return os.pathsep.join(str(tree / p) for p in ("gen/python", "libs/common", "services/credits"))


def start_baseline_credits(
    procs: Processes, server_url: str, tokens: Tokens, work: Path
) -> tuple[str, int, str]:
    """(address, pid, database name) of the old credits service on a new database."""
    tree = _extract(work)
    name = f"vg_bench_before_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(with_database(server_url, "postgres")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    env = {**os.environ, "PYTHONPATH": _pythonpath(tree), "DATABASE_URL": url}
    subprocess.run(
        [
            python(),
            "-c",
            "from pathlib import Path; "
            "from videogen_common.migrations import upgrade_to_head; "
            f"upgrade_to_head(Path({str(tree / 'services/credits/alembic.ini')!r}),"
            f" {url!r})",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    address = f"127.0.0.1:{free_port()}"
    env.update(
        CREDITS_CALLER_TOKENS=tokens.as_json(),
        CREDITS_GRPC_ADDRESS=address,
        CREDITS_AMOUNT_MAX=str(FUND_AMOUNT),
        LOG_LEVEL="WARNING",
        CREDITS_METRICS_PORT="0",
    )
    log = work / "credits-before-service.log"
    proc = procs.start(
        "credits service (before grants)", [python(), "-m", "credits.main"], log, env
    )
    wait_serving(address, SERVICE_NAME, proc, log)
    return address, proc.pid, name


def drop(server_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(with_database(server_url, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
