"""Every setting a service reads is listed in .env.example, with its default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from videogen_api_gateway.settings import ApiGatewaySettings
from videogen_credits.settings import CreditsSettings
from videogen_generation.settings import GenerationSettings
from videogen_webhook_gateway.settings import WebhookGatewaySettings

EXAMPLE = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
# "NAME=value" or, for secrets and optional values, "# NAME=".
LISTED = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", EXAMPLE, re.MULTILINE))


@pytest.mark.parametrize(
    "settings", [CreditsSettings, GenerationSettings, WebhookGatewaySettings, ApiGatewaySettings]
)
def test_every_setting_is_in_the_example(settings):
    missing = sorted(name.upper() for name in settings.model_fields if name.upper() not in LISTED)
    assert missing == [], f"{settings.__name__} reads settings .env.example does not list"
