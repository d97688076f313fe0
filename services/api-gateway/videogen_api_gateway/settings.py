"""API gateway settings, from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from videogen_common.settings import ServiceSettings


class ApiGatewaySettings(ServiceSettings):
    api_gateway_host: str = "127.0.0.1"
    # The seed frontend's default backend port.
    api_gateway_port: int = 8000
    # HS256 secret of the user JWTs (Supabase's JWT secret). Required unless AUTH_JWKS_URL.
    auth_jwt_secret: str = ""
    # Asymmetric keys (RS256/ES256) from a JWKS URL, when set.
    auth_jwks_url: str = ""
    auth_jwt_audience: str = "authenticated"
    # Comma-separated browser origins allowed by CORS (never "*": credentials are used).
    allowed_origins: str = "http://localhost:3000"
    credits_address: str = "127.0.0.1:50051"
    # This gateway's identities towards credits: "api" for users, "admin" for admin routes.
    api_gateway_credits_token: str = Field(min_length=16)
    api_gateway_credits_admin_token: str = Field(min_length=16)
    generation_address: str = "127.0.0.1:50052"
    api_gateway_generation_token: str = Field(min_length=16)
    api_gateway_upstream_timeout_s: float = Field(10.0, gt=0)
    # Generation requests (create, retry) per user, in the `limits` notation.
    api_gateway_generation_rate_limit: str = "10/minute"
    # memory:// (one process) or redis://host:6379 (shared by replicas).
    api_gateway_rate_limit_storage: str = "memory://"
    # Lifetime of the token that lets a browser EventSource (no headers) open /api/events.
    api_gateway_events_token_ttl_s: int = Field(60, ge=5, le=3600)
    api_gateway_sse_ping_s: float = Field(15.0, gt=0)
    api_gateway_body_max_bytes: int = Field(12 * 1024 * 1024, ge=1024 * 1024)
    # Served read-only under /media (generation's GENERATION_MEDIA_DIR).
    api_gateway_media_dir: Path = Path(".data/media")

    @model_validator(mode="after")
    def _some_way_to_check_tokens(self) -> ApiGatewaySettings:
        if not self.auth_jwt_secret and not self.auth_jwks_url:
            raise ValueError("set AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL")
        if "*" in self.origins:
            raise ValueError("ALLOWED_ORIGINS must list origins; '*' is not allowed")
        return self

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]
