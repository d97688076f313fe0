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
    media_url_secret="m" * 32,
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


def test_local_media_needs_a_secret_to_sign_its_links():
    with pytest.raises(ValidationError, match="MEDIA_URL_SECRET"):
        settings(media_url_secret="m" * 31)
    assert settings(media_url_secret="", generation_s3_bucket="videos").generation_s3_bucket


def test_media_links_must_outlive_the_wait_for_a_submit():
    with pytest.raises(ValidationError, match="GENERATION_MEDIA_URL_TTL_S"):
        settings(generation_media_url_ttl_s=1000)  # Replicate fetches inputs through them


def test_outputs_come_from_replicate_and_the_provider_unless_told_otherwise():
    assert settings().output_hosts.split(",") == [
        "replicate.delivery",
        "*.replicate.delivery",
        "api.replicate.com",
    ]
    local = settings(replicate_base_url="http://127.0.0.1:8010")
    assert local.output_hosts.endswith(",127.0.0.1:8010")
    assert settings(generation_output_hosts="cdn.test").output_hosts == "cdn.test"
