"""`make bench` starts the generation service with settings of its own: they must stay
acceptable to the service as its settings change (a required one once went missing,
and the bench failed only when run)."""

import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from bench_generation import GENERATION_SETS, generation_env  # noqa: E402

from videogen_generation.settings import GenerationSettings  # noqa: E402


def test_the_bench_starts_the_generation_service_with_settings_it_accepts(monkeypatch, tmp_path):
    env = generation_env(
        database_url="postgresql://bench@127.0.0.1/bench",
        address="127.0.0.1:50999",
        tokens={"api": "a" * 32, "webhooks": "w" * 32},
        credits_address="127.0.0.1:50998",
        credits_token="c" * 32,
        emulator_url="http://127.0.0.1:50997",
        replicate_token="r" * 32,
        media=tmp_path,
    )
    assert set(env) == set(GENERATION_SETS)
    for name in list(os.environ):  # only what the bench sets, nothing from this shell
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = GenerationSettings(_env_file=None)
    assert settings.replicate_base_url == "http://127.0.0.1:50997"
