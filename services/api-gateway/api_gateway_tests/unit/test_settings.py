"""Settings the gateway refuses to start with."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from videogen_api_gateway.settings import ApiGatewaySettings

REQUIRED = dict(
    auth_jwt_secret="unit-test-jwt-secret-of-32-characters",
    api_gateway_credits_token="unit-credits-token-0",
    api_gateway_credits_admin_token="unit-credits-admin-0",
    api_gateway_generation_token="unit-generation-token",
)


def settings(**values) -> ApiGatewaySettings:
    return ApiGatewaySettings(_env_file=None, **{**REQUIRED, **values})


@pytest.mark.parametrize("secret", ["", "x" * 31])
def test_events_need_their_own_long_secret(secret):
    with pytest.raises(ValidationError, match="API_GATEWAY_EVENTS_SECRET"):
        settings(api_gateway_events_secret=secret)


def test_without_events_no_events_secret_is_needed():
    assert not settings(api_gateway_events_enabled=False).api_gateway_events_secret
    assert settings(api_gateway_events_secret="e" * 32).api_gateway_events_enabled
