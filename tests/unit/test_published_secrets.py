"""The published example Secret cannot start anything: each of its values that a service
reads is refused, by name, at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from videogen_api_gateway.settings import ApiGatewaySettings
from videogen_credits.settings import CreditsSettings
from videogen_generation.settings import GenerationSettings
from videogen_webhook_gateway.settings import WebhookGatewaySettings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((ROOT / "deploy/k8s/base/secret.example.yaml").read_text())
PUBLISHED = {k: v for k, v in EXAMPLE["stringData"].items() if "CHANGE-ME" in v}
# Each service's DATABASE_URL is one of these keys, as its Deployment maps it.
DATABASE_KEY = {
    CreditsSettings: "CREDITS_DATABASE_URL",
    GenerationSettings: "GENERATION_DATABASE_URL",
    WebhookGatewaySettings: "WEBHOOK_GATEWAY_DATABASE_URL",
}
GOOD = {
    "database_url": "postgresql://user:a-password-of-our-own@db.internal/videogen",
    "credits_caller_tokens": {"api": "a" * 32, "generation": "g" * 32},
    "generation_caller_tokens": {"api": "b" * 32, "webhooks": "w" * 32},
    "generation_credits_token": "g" * 32,
    "replicate_api_token": "r8_" + "r" * 30,
    "webhook_public_url": "https://hooks.example.test",
    "media_url_secret": "m" * 32,
    "webhook_gateway_generation_token": "w" * 32,
    "auth_jwt_secret": "j" * 32,
    "api_gateway_events_secret": "e" * 32,
    "api_gateway_credits_token": "a" * 32,
    "api_gateway_credits_admin_token": "d" * 32,
    "api_gateway_generation_token": "b" * 32,
}
CLASSES = [CreditsSettings, GenerationSettings, WebhookGatewaySettings, ApiGatewaySettings]


def _values(cls) -> dict:
    return {k: v for k, v in GOOD.items() if k in cls.model_fields}


@pytest.mark.parametrize("cls", CLASSES)
def test_our_own_values_start(cls):
    cls(_env_file=None, **_values(cls))


def _cases():
    for cls in CLASSES:
        for key, value in PUBLISHED.items():
            field = "database_url" if key == DATABASE_KEY.get(cls) else key.lower()
            if key == "DATABASE_URL" and cls in DATABASE_KEY:
                continue  # services read their own key, not the owner's
            if field in cls.model_fields:
                yield pytest.param(cls, field, value, id=f"{cls.__name__}-{key}")


@pytest.mark.parametrize("cls, field, value", list(_cases()))
def test_every_published_placeholder_is_refused_by_name(cls, field, value):
    parsed = yaml.safe_load(value) if value.lstrip().startswith("{") else value
    with pytest.raises(ValidationError, match=field.upper()):
        cls(_env_file=None, **{**_values(cls), field: parsed})


def test_every_placeholder_is_read_by_some_service():
    """Otherwise the test above would skip it silently."""
    covered = {param.id.split("-", 1)[1] for param in _cases()}
    assert covered == set(PUBLISHED) - {"DATABASE_URL"}  # the migration Job's
