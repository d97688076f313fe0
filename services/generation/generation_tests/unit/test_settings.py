"""The generation service refuses settings under which its promises cannot hold."""

import pytest
from pydantic import ValidationError

from videogen_generation.settings import GenerationSettings

BASE = dict(
    database_url="postgresql://x@localhost/db",
    generation_caller_tokens={"api": "a" * 16},
    generation_credits_token="t" * 16,
    replicate_api_token="r8_x",
    webhook_public_url="http://127.0.0.1:8001",
)


def settings(**changes) -> GenerationSettings:
    return GenerationSettings(_env_file=None, **{**BASE, **changes})


def test_the_defaults_hold():
    made = settings()
    assert made.generation_hold_timeout_s >= 1.5 * (
        made.generation_submit_within_s + 2 * made.generation_age_max_s
    )


def test_a_hold_that_could_be_released_under_a_running_job_is_refused():
    with pytest.raises(ValidationError, match="GENERATION_HOLD_TIMEOUT_S"):
        settings(generation_age_max_s=7200)  # 600 + 2 x 7200 = 15000 s > 10800 / 1.5


def test_a_lease_shorter_than_a_create_and_a_lookup_is_refused():
    with pytest.raises(ValidationError, match="GENERATION_LEASE_S"):
        settings(generation_lease_s=20, generation_replicate_timeout_s=15)
