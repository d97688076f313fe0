"""API gateway settings, from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from videogen_common.settings import GrpcClientSettings


class ApiGatewaySettings(GrpcClientSettings):
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
    # /api/events (SSE) and /api/events/token; off: both answer 404.
    api_gateway_events_enabled: bool = True
    # Signs the tokens that let a browser EventSource (no headers) open /api/events.
    # Required (32 characters or more) while events are enabled; the same on every replica.
    api_gateway_events_secret: str = ""
    # Lifetime of those tokens; a token claiming a longer one is refused.
    api_gateway_events_token_ttl_s: int = Field(60, ge=5, le=3600)
    # Open /api/events streams per user on one replica; 429 beyond.
    api_gateway_events_streams_per_user_max: int = Field(5, ge=1, le=100)
    api_gateway_sse_ping_s: float = Field(15.0, gt=0)
    api_gateway_body_max_bytes: int = Field(12 * 1024 * 1024, ge=1024 * 1024)
    # Served read-only under /media (generation's GENERATION_MEDIA_DIR), through the
    # links generation signs with MEDIA_URL_SECRET; without that secret, /media serves
    # nothing (media in an S3 bucket is served by the bucket's presigned URLs).
    api_gateway_media_dir: Path = Path(".data/media")
    media_url_secret: str = Field("", pattern=r"^(|.{32,})$")
    # /api/auth/signup, /signin, /signout go to this Supabase project's Auth (GoTrue),
    # with its anon (public) key; either unset: those routes answer 501.
    supabase_url: str = Field("", pattern=r"^(|https?://\S+)$")
    supabase_anon_key: str = ""
    # Prometheus /metrics on its own port, never the public one; 0: none.
    api_gateway_metrics_port: int = Field(0, ge=0, le=65535)
    # Processes serving the HTTP API on one port (SO_REUSEPORT), each using a core; >1 needs
    # a fixed port. The first process supervises them and serves /metrics for all.
    api_gateway_workers: int = Field(1, ge=1, le=64)

    @property
    def workers(self) -> int:
        return self.api_gateway_workers

    @property
    def listen_port(self) -> int:
        return self.api_gateway_port

    @property
    def metrics_port(self) -> int:
        return self.api_gateway_metrics_port

    @model_validator(mode="after")
    def _some_way_to_check_tokens(self) -> ApiGatewaySettings:
        if not self.auth_jwt_secret and not self.auth_jwks_url:
            raise ValueError("set AUTH_JWT_SECRET (HS256) or AUTH_JWKS_URL")
        if self.api_gateway_events_enabled and len(self.api_gateway_events_secret) < 32:
            raise ValueError(
                "API_GATEWAY_EVENTS_SECRET must be at least 32 characters while "
                "API_GATEWAY_EVENTS_ENABLED is true"
            )
        if "*" in self.origins:
            raise ValueError("ALLOWED_ORIGINS must list origins; '*' is not allowed")
        return self

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]
