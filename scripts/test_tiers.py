"""`make test`: every tier of tests in turn, cheapest first, each timed.

unit (no I/O), integration (PostgreSQL), service (one real server on port 0), e2e (every
service in one process, the emulator), soak (the stack as processes under faults).
Arguments are passed to pytest for every tier (`PYTEST_ARGS="-k deduct" make test`); a
tier none of whose tests match is skipped. Exits non-zero when any tier failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERS = {
    "unit": ["services/*/*_tests/unit", "tests/unit"],
    "integration": ["services/*/*_tests/integration", "tests/deploy"],
    "service": ["services/*/*_tests/service", "tools/tests"],
    "e2e": ["tests/e2e"],
    "soak": ["tests/soak"],
}
NO_TESTS_COLLECTED = 5


def paths(patterns: list[str]) -> list[str]:
    return sorted(
        str(p.relative_to(ROOT)) for pattern in patterns for p in ROOT.glob(pattern) if p.is_dir()
    )


def main(args: list[str]) -> int:
    lines, failed, total = [], [], 0.0
    for tier, patterns in TIERS.items():
        began = time.monotonic()
        code = subprocess.call([sys.executable, "-m", "pytest", *paths(patterns), *args], cwd=ROOT)
        took = time.monotonic() - began
        if code == NO_TESTS_COLLECTED:
            lines.append(f"  {tier:<12} {'-':>7}  no test selected")
            continue
        total += took
        lines.append(f"  {tier:<12} {took:>6.1f}s  {'ok' if code == 0 else 'FAILED'}")
        if code != 0:
            failed.append(tier)
    print("test tiers:", *lines, f"  {'total':<12} {total:>6.1f}s", sep="\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
