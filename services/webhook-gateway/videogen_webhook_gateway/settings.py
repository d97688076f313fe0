"""Webhook gateway settings, from the environment (see .env.example)."""

from __future__ import annotations

from pydantic import Field, model_validator

from videogen_common.settings import GrpcClientSettings


class WebhookGatewaySettings(GrpcClientSettings):
    database_url: str
    webhook_gateway_host: str = "127.0.0.1"
    webhook_gateway_port: int = 8001
    # Prometheus /metrics on its own port, never the public one; 0: none.
    webhook_gateway_metrics_port: int = Field(0, ge=0, le=65535)
    # Processes serving the webhook endpoints on one port (SO_REUSEPORT), each using a core; >1 needs
    # a fixed port. The first process supervises them and serves /metrics for all.
    webhook_gateway_workers: int = Field(1, ge=1, le=64)
    # Space-separated whsec_ secrets (several during a rotation). Unset: the Replicate
    # endpoint refuses every request (fail closed).
    replicate_webhook_secret: str = ""
    # Stripe endpoint secret (whsec_…, used as-is). Unset: /api/webhooks/stripe refuses.
    stripe_webhook_secret: str = ""
    # Dodo Payments (Standard Webhooks) secret. Unset: /api/webhooks/dodo refuses.
    dodo_webhook_secret: str = ""
    credits_address: str = "127.0.0.1:50051"
    # This gateway's identity towards credits (its "payments" caller token).
    webhook_gateway_credits_token: str = Field("", description="required for purchases")
    generation_address: str = "127.0.0.1:50052"
    # This gateway's own identity towards the generation service ("webhooks" caller).
    webhook_gateway_generation_token: str = Field(min_length=16)
    webhook_gateway_forward_timeout_s: float = Field(10.0, gt=0)
    # Large enough for a prediction with its logs.
    webhook_gateway_body_max_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)

    @property
    def workers(self) -> int:
        return self.webhook_gateway_workers

    @property
    def listen_port(self) -> int:
        return self.webhook_gateway_port

    @property
    def metrics_port(self) -> int:
        return self.webhook_gateway_metrics_port

    @property
    def replicate_secrets(self) -> list[str]:
        return self.replicate_webhook_secret.split()

    @model_validator(mode="after")
    def _payments_need_a_credits_identity(self) -> WebhookGatewaySettings:
        if (self.stripe_webhook_secret or self.dodo_webhook_secret) and len(
            self.webhook_gateway_credits_token
        ) < 16:
            raise ValueError(
                "WEBHOOK_GATEWAY_CREDITS_TOKEN (16+ characters) is required "
                "when a payment webhook secret is set"
            )
        return self
