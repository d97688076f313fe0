"""Webhook gateway settings, from the environment (see .env.example)."""
from __future__ import annotations

from pydantic import Field

from videogen_common.settings import ServiceSettings


class WebhookGatewaySettings(ServiceSettings):
    database_url: str
    webhook_gateway_host: str = "127.0.0.1"
    webhook_gateway_port: int = 8001
    # Space-separated whsec_ secrets (several during a rotation). Unset: the Replicate
    # endpoint refuses every request (fail closed).
    replicate_webhook_secret: str = ""
    generation_address: str = "127.0.0.1:50052"
    # This gateway's own identity towards the generation service ("webhooks" caller).
    webhook_gateway_generation_token: str = Field(min_length=16)
    webhook_gateway_forward_timeout_s: float = Field(10.0, gt=0)
    # Large enough for a prediction with its logs.
    webhook_gateway_body_max_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)

    @property
    def replicate_secrets(self) -> list[str]:
        return self.replicate_webhook_secret.split()
