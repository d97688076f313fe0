"""`python -m videogen_soak` (`make soak`): SOAK_SECONDS (600) of seeded load and faults, then the
audit. SOAK_SEED picks the seed (random when unset; printed either way)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import time
from pathlib import Path

from .run import soak
from .stack import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videogen_soak")
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS") or 600)
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(os.environ.get("SOAK_SEED") or random.randrange(1, 1_000_000)),
    )
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument(
        "--recovery-s",
        type=float,
        default=120.0,
        help="how long the stack may take to settle after the faults",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where logs are kept")
    args = parser.parse_args(argv)
    directory = (
        args.dir or ROOT / ".data" / "soak" / f"{time.strftime('%Y%m%d-%H%M%S')}-seed{args.seed}"
    )
    directory.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        filename=directory / "soak.log",
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    print(
        f"soak: seed {args.seed}, {args.seconds:.0f} s, {args.users} users; logs in {directory}",
        flush=True,
    )
    return asyncio.run(soak(directory, args.seconds, args.seed, args.users, args.recovery_s))


if __name__ == "__main__":
    sys.exit(main())
