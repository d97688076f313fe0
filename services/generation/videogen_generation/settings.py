"""Generation service settings, from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from videogen_common.settings import (
    GrpcClientSettings,
    GrpcServerSettings,
    port_of,
    tls_settings_whole,
)

from .faults import POINTS


class GenerationSettings(GrpcServerSettings, GrpcClientSettings):
    database_url: str
    # {"caller": "token"} for whoever calls this service: api, webhooks. No default.
    generation_caller_tokens: dict[str, str]
    generation_grpc_address: str = "127.0.0.1:50052"
    generation_metrics_port: int = 0
    # Processes serving the gRPC API on one port (SO_REUSEPORT), each using a core; >1 needs
    # a fixed port. The first process supervises them and serves /metrics for all.
    generation_workers: int = Field(1, ge=1, le=64)
    # TLS and mutual TLS on the gRPC port, as credits' CREDITS_TLS_* (same meaning).
    generation_tls_cert_path: Path | None = None
    generation_tls_key_path: Path | None = None
    generation_tls_client_ca_path: Path | None = None
    # Plain-text gRPC health only, for kubelet probes while TLS is on; 0: none.
    generation_health_port: int = Field(0, ge=0, le=65535)
    # This service's own identity towards credits (its "generation" caller token).
    generation_credits_token: str = Field(min_length=16)
    credits_address: str = "127.0.0.1:50051"
    generation_credits_timeout_s: float = Field(5.0, gt=0)
    replicate_api_token: str = Field(min_length=1)
    replicate_base_url: str = "https://api.replicate.com"
    generation_replicate_timeout_s: float = Field(15.0, gt=0)
    # Attempts of one create in a row, repeated only after answers that say nothing was
    # recorded (unreachable, 429).
    generation_replicate_create_attempts: int = Field(4, ge=1, le=10)
    # After a create whose answer was lost: how long, from the moment it was sent, it
    # may still land at the provider. No other create is sent for the generation before
    # this has passed and a lookup made after it found nothing.
    generation_create_settle_s: float = Field(60.0, gt=0)
    # Where Replicate sends webhooks: the webhook gateway's public base URL.
    webhook_public_url: str = Field(pattern=r"^https?://")
    # Where finished outputs may be fetched from (each redirect too), comma-separated:
    # "host" or "*.domain" over https, or "host:port" (http allowed) for a local
    # stand-in. Unset: Replicate's delivery hosts and REPLICATE_BASE_URL's own host.
    generation_output_hosts: str = ""
    # The whole fetch of one output, and its size.
    generation_output_fetch_timeout_s: float = Field(300.0, gt=0)
    generation_output_bytes_max: int = Field(512 * 1024 * 1024, ge=1024 * 1024)
    generation_media_dir: Path = Path(".data/media")
    # Public base URL of stored videos and images (the API gateway's /media for the local
    # directory; the bucket's or a CDN's URL with S3).
    generation_media_base_url: str = "http://127.0.0.1:8000/media"
    # Signs the links to files in GENERATION_MEDIA_DIR (the API gateway checks them with
    # the same secret). Required, 32 characters or more, unless GENERATION_S3_BUCKET.
    media_url_secret: str = ""
    # How long a link to a stored video or image works (S3: its presigned URLs). Links
    # to the input images sent to Replicate must outlive GENERATION_SUBMIT_WITHIN_S.
    generation_media_url_ttl_s: int = Field(6 * 3600, ge=900, le=7 * 86400)
    # An S3-compatible bucket instead of GENERATION_MEDIA_DIR, when set.
    generation_s3_bucket: str = ""
    generation_s3_endpoint_url: str = ""
    generation_s3_region: str = ""
    # Unset: boto3's own credential chain (environment, instance role).
    generation_s3_access_key_id: str = ""
    generation_s3_secret_access_key: str = ""
    generation_db_pool_size: int = Field(8, ge=1)
    # How often health checks the database (NOT_SERVING while it cannot answer).
    generation_health_interval_s: float = Field(2.0, gt=0)
    # A step of the flow owns its generation this long (renewed before each create at the
    # provider); then recovery may take over. More than twice the Replicate timeout.
    generation_lease_s: float = Field(60.0, gt=0)
    # Without news for this long, the poller asks Replicate (then backs off).
    generation_poll_after_s: float = Field(30.0, gt=0)
    # The longest wait between two polls of one job (they back off up to this).
    generation_poll_backoff_max_s: float = Field(300.0, gt=0)
    generation_recovery_interval_s: float = Field(5.0, gt=0)
    generation_recovery_batch_max: int = Field(50, ge=1)
    generation_submit_within_s: float = Field(600.0, gt=0)
    # Older than this and still running (the provider is asked first): canceled at
    # Replicate, timed_out, refunded.
    generation_age_max_s: float = Field(1800.0, gt=0)
    # Credits release a generation's hold on their own after this; it must be well
    # beyond the longest a job may run (see the check below).
    generation_hold_timeout_s: int = Field(3 * 3600, ge=60)
    # Watchers (SSE) that reconnect get every event they missed within this many seconds.
    generation_events_keep_s: float = Field(86400.0, gt=0)
    # Tests only: named points where the process dies (faults.POINTS).
    generation_faults: str = ""
    generation_faults_exit: bool = False

    @field_validator("generation_faults")
    @classmethod
    def _known_points(cls, value: str) -> str:
        unknown = {p for p in value.split(",") if p} - set(POINTS)
        if unknown:
            raise ValueError(f"unknown fault points {sorted(unknown)}; known: {POINTS}")
        return value

    @property
    def workers(self) -> int:
        return self.generation_workers

    @property
    def listen_port(self) -> int:
        return port_of(self.generation_grpc_address)

    @property
    def metrics_port(self) -> int:
        return self.generation_metrics_port

    @model_validator(mode="after")
    def _leases_outlast_one_provider_call(self) -> GenerationSettings:
        # A submit renews its lease before each create and each create has this deadline,
        # followed by at most one lookup with the same deadline: a shorter lease would let
        # another replica submit while the first create may still land.
        if self.generation_lease_s <= 2 * self.generation_replicate_timeout_s:
            raise ValueError(
                f"GENERATION_LEASE_S ({self.generation_lease_s}) must be more than twice "
                f"GENERATION_REPLICATE_TIMEOUT_S ({self.generation_replicate_timeout_s})"
            )
        return self

    @model_validator(mode="after")
    def _creates_settle_after_their_deadline(self) -> GenerationSettings:
        # The window is counted from the sending: shorter than one attempt's deadline,
        # it would end while the provider may still be taking the request in.
        if self.generation_create_settle_s <= self.generation_replicate_timeout_s:
            raise ValueError(
                f"GENERATION_CREATE_SETTLE_S ({self.generation_create_settle_s}) must be "
                f"more than GENERATION_REPLICATE_TIMEOUT_S "
                f"({self.generation_replicate_timeout_s})"
            )
        return self

    @model_validator(mode="after")
    def _holds_outlast_every_job(self) -> GenerationSettings:
        # A generation may wait GENERATION_SUBMIT_WITHIN_S to start and then run until
        # it is timed out: past GENERATION_AGE_MAX_S, or twice that while Replicate
        # cannot be asked. Its hold must still be there, with room to spare.
        longest = self.generation_submit_within_s + 2 * self.generation_age_max_s
        if self.generation_hold_timeout_s < 1.5 * longest:
            raise ValueError(
                f"GENERATION_HOLD_TIMEOUT_S ({self.generation_hold_timeout_s}) must be at "
                f"least 1.5 times the longest a generation may last ({longest:.0f} s: "
                "GENERATION_SUBMIT_WITHIN_S + 2 x GENERATION_AGE_MAX_S), or a hold could "
                "be released under a job that still runs"
            )
        return self

    @model_validator(mode="after")
    def _tls_whole(self) -> GenerationSettings:
        tls_settings_whole(
            "GENERATION",
            self.generation_tls_cert_path,
            self.generation_tls_key_path,
            self.generation_tls_client_ca_path,
        )
        return self

    @model_validator(mode="after")
    def _media_links_can_be_signed(self) -> GenerationSettings:
        if not self.generation_s3_bucket and len(self.media_url_secret) < 32:
            raise ValueError(
                "MEDIA_URL_SECRET must be at least 32 characters (it signs the links to "
                "GENERATION_MEDIA_DIR; with GENERATION_S3_BUCKET the bucket signs them)"
            )
        if self.generation_media_url_ttl_s < 2 * self.generation_submit_within_s:
            raise ValueError(
                "GENERATION_MEDIA_URL_TTL_S must be at least twice GENERATION_SUBMIT_WITHIN_S: "
                "Replicate fetches input images through these links"
            )
        return self

    @property
    def output_hosts(self) -> str:
        if self.generation_output_hosts:
            return self.generation_output_hosts
        provider = urlsplit(self.replicate_base_url)
        own = provider.netloc if provider.scheme == "http" else provider.hostname
        return ",".join(["replicate.delivery", "*.replicate.delivery", own or ""])

    @field_validator("webhook_public_url", "generation_media_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")
