"""Credits service settings, from the environment (see .env.example)."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from videogen_common.settings import ServiceSettings


class CreditsSettings(ServiceSettings):
    database_url: str = Field(description="PostgreSQL URL, e.g. postgresql://user@host/db")
    # {"caller name": "token"}; names: api, generation, payments, admin. No default.
    credits_caller_tokens: dict[str, str]
    credits_grpc_address: str = "127.0.0.1:50051"
    credits_metrics_port: int = 0
    credits_signup_grant: int = Field(100, ge=0)
    credits_low_balance_threshold: int = Field(5, ge=0)
    credits_amount_max: int = Field(1_000_000, ge=1)
    credits_db_pool_size: int = Field(8, ge=1)
    # Group commit: at most this many requests per transaction (each item is a
    # subtransaction; PostgreSQL keeps 64 per transaction in shared memory cheaply).
    credits_batch_max: int = Field(48, ge=1, le=60)
    # Measured: one batch at a time batches deeper and beats 2 or 3 (make bench).
    credits_batches_in_flight_max: int = Field(1, ge=1)
    # Requests waiting beyond this are refused with UNAVAILABLE instead of queueing.
    credits_queue_max: int = Field(4096, ge=64)
    # How often health checks the database (NOT_SERVING while it cannot answer).
    credits_health_interval_s: float = Field(2.0, gt=0)
    credits_tls_cert_path: Path | None = None
    credits_tls_key_path: Path | None = None
    credits_tls_client_ca_path: Path | None = None

    @field_validator("credits_caller_tokens")
    @classmethod
    def _tokens_are_long_enough(cls, tokens: dict[str, str]) -> dict[str, str]:
        if not tokens:
            raise ValueError("name at least one caller and its token")
        short = sorted(name for name, token in tokens.items() if len(token) < 16)
        if short:
            raise ValueError(f"tokens shorter than 16 characters for: {', '.join(short)}")
        return tokens
