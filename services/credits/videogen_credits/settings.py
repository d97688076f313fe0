"""Credits service settings, from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from videogen_common.settings import GrpcServerSettings, port_of, tls_settings_whole


class PackageSpec(BaseModel, frozen=True, extra="forbid"):
    credits: int = Field(gt=0)
    # In the currency's minor unit (cents).
    price: int = Field(gt=0)
    currency: str = Field(pattern=r"^[a-z]{3}$")


class PlanSpec(BaseModel, frozen=True, extra="forbid"):
    # Credits each paid period brings; unused ones roll over up to rollover_cap.
    allotment: int = Field(0, ge=0)
    rollover_cap: int = Field(0, ge=0)
    # Not charged at all (internal users).
    unlimited: bool = False


DEFAULT_PACKAGES = {
    "credits_100": PackageSpec(credits=100, price=500, currency="usd"),
    "credits_500": PackageSpec(credits=500, price=2000, currency="usd"),
    "credits_2000": PackageSpec(credits=2000, price=6000, currency="usd"),
}
DEFAULT_PLANS = {
    "free": PlanSpec(),
    "starter": PlanSpec(allotment=300, rollover_cap=100),
    "pro": PlanSpec(allotment=1200, rollover_cap=400),
    "unlimited": PlanSpec(unlimited=True),
}


class CreditsSettings(GrpcServerSettings):
    database_url: str = Field(description="PostgreSQL URL, e.g. postgresql://user@host/db")
    # {"caller name": "token"}; names: api, generation, payments, admin. No default.
    credits_caller_tokens: dict[str, str]
    credits_grpc_address: str = "127.0.0.1:50051"
    credits_metrics_port: int = 0
    # Processes serving the gRPC API on one port (SO_REUSEPORT), each using a core; >1 needs
    # a fixed port. The first process supervises them and serves /metrics for all.
    credits_workers: int = Field(1, ge=1, le=64)
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
    # What is sold (package id -> credits, price, currency) and the plans (code ->
    # allotment, rollover cap, unlimited): the one definition every service asks for.
    credit_packages: dict[str, PackageSpec] = DEFAULT_PACKAGES
    credits_plans: dict[str, PlanSpec] = DEFAULT_PLANS
    # A subscription's allotment outlives its period by this much, for the next invoice.
    credits_subscription_grace_s: float = Field(86400.0, ge=0)
    # How often expired grants are taken out and timed-out holds released (any number
    # of replicas may sweep; each grant and hold is settled once).
    credits_expiry_sweep_interval_s: float = Field(60.0, gt=0)
    credits_hold_sweep_interval_s: float = Field(30.0, gt=0)
    # A hold whose caller names no timeout is released after this; none may ask more
    # than the maximum.
    credits_hold_timeout_default_s: int = Field(3 * 3600, ge=1)
    credits_hold_timeout_max_s: int = Field(24 * 3600, ge=1)
    # TLS on the gRPC port (both paths); with the client CA, mutual TLS: callers must
    # present a certificate it signed.
    credits_tls_cert_path: Path | None = None
    credits_tls_key_path: Path | None = None
    credits_tls_client_ca_path: Path | None = None
    # Plain-text gRPC health only, for kubelet probes while TLS is on; 0: none.
    credits_health_port: int = Field(0, ge=0, le=65535)

    @property
    def workers(self) -> int:
        return self.credits_workers

    @property
    def listen_port(self) -> int:
        return port_of(self.credits_grpc_address)

    @property
    def metrics_port(self) -> int:
        return self.credits_metrics_port

    @model_validator(mode="after")
    def _tls_whole(self) -> CreditsSettings:
        tls_settings_whole(
            "CREDITS",
            self.credits_tls_cert_path,
            self.credits_tls_key_path,
            self.credits_tls_client_ca_path,
        )
        return self

    @field_validator("credits_caller_tokens")
    @classmethod
    def _tokens_are_long_enough(cls, tokens: dict[str, str]) -> dict[str, str]:
        if not tokens:
            raise ValueError("name at least one caller and its token")
        short = sorted(name for name, token in tokens.items() if len(token) < 16)
        if short:
            raise ValueError(f"tokens shorter than 16 characters for: {', '.join(short)}")
        return tokens

    @field_validator("credits_plans")
    @classmethod
    def _plans_have_free(cls, plans: dict[str, PlanSpec]) -> dict[str, PlanSpec]:
        bad = [
            code
            for code in plans
            if not code.replace("_", "a").isalnum()
            or not code[:1].isalpha()
            or code != code.lower()
            or len(code) > 32
        ]
        if bad:
            raise ValueError(f"plan codes must be lower-case words: {bad}")
        if "free" not in plans:
            raise ValueError("a 'free' plan is required (new accounts start on it)")
        return plans
