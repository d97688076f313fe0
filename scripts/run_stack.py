"""`make run`: the whole stack on one machine, in the foreground.

1. Database: DATABASE_URL, or the embedded PostgreSQL (.data/postgres, database videogen),
   migrated with migrate.py.
2. Every service in SERVICES (stack_services.py) as a child process, started in order,
   each awaited until its readiness probe passes (gRPC health SERVING, or HTTP 200 for
   HTTP servers).
   Replicate: without REPLICATE_API_TOKEN, the local emulator (tools/replicate_emulator)
   with a token and webhook secret made up for this run; with it, the real Replicate,
   which then also needs WEBHOOK_PUBLIC_URL and REPLICATE_WEBHOOK_SECRET.
3. Ctrl-C or SIGTERM stops the children newest first (SIGTERM, then SIGKILL after a
   timeout), then the embedded PostgreSQL. If a child dies, everything is stopped and
   this exits non-zero showing the child's last output.

Children's output goes to this terminal's stderr, each line prefixed with the service.

This file runs the stack and prints its summary; stack_services.py says what the services
are and wires them together, stack_processes.py manages their processes, and
stack_probes.py tells where and whether each answers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import health_check
import migrate
from stack_processes import (
    NAME_WIDTH,
    Child,
    ChildFailed,
    Interrupted,
    start_all,
    stop_all,
    until_stop_or_exit,
)
from stack_services import EMULATOR, PYTHON, Env, ServiceSpec, development_jwt, say, stack_env


def where(child: Child) -> str:
    return f"http://{child.address}" if child.spec.protocol == "HTTP" else child.address


def print_ready(children: list[Child], env: Env, database: str) -> None:
    python = os.path.relpath(PYTHON)
    health = os.path.relpath(Path(health_check.__file__))
    width = NAME_WIDTH + 9
    lines = ["stack is up", f"  {'database':<{width}} {database}"]
    for child in children:
        lines.append(f"  {f'{child.spec.name} ({child.spec.protocol})':<{width}} {where(child)}")
        metrics_port = env.get(child.spec.metrics_env or "") or "0"
        if metrics_port != "0":
            lines.append(
                f"  {child.spec.name + ' metrics':<{width}} http://127.0.0.1:{metrics_port}/metrics"
            )
    emulated = any(child.spec.name == EMULATOR for child in children)
    replicate = (
        f"{EMULATOR} above (token and webhook secret made up for this run)"
        if emulated
        else env["REPLICATE_BASE_URL"]
    )
    lines.append(f"  {'replicate':<{width}} {replicate}")
    hooks = env["WEBHOOK_PUBLIC_URL"].rstrip("/")
    lines.append(f"  {'webhooks to':<{width}} {hooks}/api/webhooks/replicate")
    lines.append(
        f"  {'payments':<{width}} {hooks}/api/webhooks/stripe, {hooks}/api/webhooks/dodo "
        "(each needs its STRIPE_/DODO_WEBHOOK_SECRET)"
    )
    media_url = env.get("GENERATION_MEDIA_BASE_URL") or "http://127.0.0.1:8000/media"
    lines.append(
        f"  {'videos':<{width}} {env['GENERATION_MEDIA_DIR']}/videos, "
        f"linked as {media_url}/videos/..."
    )
    grpc_children = [child for child in children if child.spec.protocol == "gRPC"]
    lines.append(f"  try: {python} {health} {grpc_children[-1].address}")
    api = [child for child in children if child.spec.name == "api-gateway"]
    token = development_jwt(env)
    if api:
        lines.append(f"  {'API document':<{width}} {where(api[0])}/openapi.json")
        lines.append(
            f"  {'admin console':<{width}} {where(api[0])}/admin "
            "(log in with: .venv/bin/videogen token --admin)"
        )
    if api and token:
        base = where(api[0])
        lines.append(f"  a development user's JWT (valid 24 h): {token}")
        lines.append(
            "  more tokens, any user or role: .venv/bin/videogen token [<user-id>] [--admin]; "
            "also videogen account | ledger | grant | reconcile | generation"
        )
        lines.append(f"  try: curl -s -H 'Authorization: Bearer {token}' {base}/api/users/credits")
        lines.append(
            f"       curl -s -H 'Authorization: Bearer {token}' -H 'Content-Type: "
            f'application/json\' -d \'{{"prompt": "a red fox running in the snow", '
            f'"resolution": "480p"}}\' {base}/api/generation/text-to-video'
        )
    lines.append("  Ctrl-C stops everything")
    say("\n".join(lines))


def report_failure(exc: ChildFailed) -> None:
    print(f"\nrun_stack: {exc}; its last output:", file=sys.stderr)
    for line in exc.child.tail or ["(nothing)"]:
        print(f"  {line}", file=sys.stderr)


async def run(env: Env, specs: list[ServiceSpec], at: Mapping[str, str], database: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    children: list[Child] = []
    failure: ChildFailed | None = None
    try:
        await start_all(children, specs, env, at, stop)
        print_ready(children, env, database)
        await until_stop_or_exit(children, stop)
        say("stopping")
    except Interrupted:
        say("interrupted while starting; stopping")
    except ChildFailed as exc:
        failure = exc
    finally:
        await stop_all(children, env)
    if failure is not None:
        report_failure(failure)
        return 1
    return 0


def raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Until the event loop takes over, SIGTERM and SIGHUP unwind like Ctrl-C, so the
    # embedded PostgreSQL is still stopped by its exit handler.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, raise_interrupt)
    migrate.configure_logging()
    migrate.load_env_file()
    try:
        env, specs, at = stack_env()
        url = env["DATABASE_URL"] = migrate.migrated_database_url()
        return asyncio.run(run(env, specs, at, migrate.describe(url)))
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
