"""A short soak inside `make test`: the whole stack as processes under seeded faults
(SIGKILLs, PostgreSQL crash-restarts, cut connections, a misbehaving provider), then the
audit of the money and the jobs. `make soak` runs the long one."""

import os
import subprocess
import sys

import pytest

SECONDS = os.environ.get("SOAK_TEST_SECONDS", "90")
SEED = os.environ.get("SOAK_TEST_SEED", "20261201")


@pytest.mark.timeout(900)
def test_a_short_soak_finds_no_violation(tmp_path):
    directory = tmp_path / "soak"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "videogen_soak",
            "--seconds",
            SECONDS,
            "--seed",
            SEED,
            "--dir",
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = [line for line in result.stdout.splitlines() if line.startswith("soak: seed")]
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-4000:])
    assert summary and summary[-1].endswith(" 0 violations"), result.stdout[-4000:]
    assert (directory / "report.json").exists()
