"""`python -m replicate_emulator`: serve until SIGTERM/SIGINT.

Prints exactly one line to stdout once listening, so a parent process can read the port:
    replicate-emulator listening on http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys

from .config import EmulatorConfig, generate_webhook_secret
from .server import start_emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m replicate_emulator", description="Local emulator of Replicate's HTTP API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--api-token",
        default=os.environ.get("REPLICATE_API_TOKEN"),
        help="token clients must send (default: $REPLICATE_API_TOKEN)",
    )
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="whsec_<base64> signing secret (default: a random one)",
    )
    parser.add_argument(
        "--public-base-url",
        default=None,
        help="base of URLs put in predictions (default: the bound address)",
    )
    parser.add_argument("--step-delay-s", type=float, default=None)
    parser.add_argument("--progress-steps", type=int, default=None)
    parser.add_argument("--failure-rate", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--config-json",
        default=None,
        help="any other knobs as JSON, e.g. '{\"webhook_duplicates\": 1}'",
    )
    parser.add_argument("--access-log", action="store_true", help="log each request to stderr")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    if not args.api_token:
        raise SystemExit("error: --api-token (or REPLICATE_API_TOKEN) is required")
    try:
        changes = json.loads(args.config_json) if args.config_json else {}
    except ValueError as exc:
        raise SystemExit(f"error: --config-json is not JSON: {exc}") from exc
    if not isinstance(changes, dict):
        raise SystemExit("error: --config-json must be a JSON object")
    for name in ("step_delay_s", "progress_steps", "failure_rate", "seed"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    changes.update(
        host=args.host,
        port=args.port,
        api_token=args.api_token,
        webhook_secret=args.webhook_secret or generate_webhook_secret(),
        public_base_url=args.public_base_url,
    )
    try:
        return EmulatorConfig(api_token=args.api_token).updated(changes, allow_read_only=True)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc


async def serve(config: EmulatorConfig, access_log: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    emulator = await start_emulator(config, access_log=access_log)
    try:
        print(f"replicate-emulator listening on {emulator.bound_url}", flush=True)
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = build_config(args)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(serve(config, args.access_log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
