"""The emulator's knobs: one dataclass, set at start and changeable at run time.

Every knob is a plain JSON-able field so the control endpoint (POST /_emulator/config)
can update any subset of them from another process. Updates are validated as a whole
before any field changes, so a bad request never leaves the config half-applied.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("succeeded", "failed", "canceled", "aborted", "hang")
CREATE_ERROR_STATUSES = (422, 429, 500, 502, 503)
# Fixed for the life of a server: the port and secrets are what clients were given.
READ_ONLY_FIELDS = frozenset({"host", "port", "api_token", "webhook_secret", "public_base_url"})


def generate_webhook_secret() -> str:
    """A fresh signing secret in Replicate's format: "whsec_" + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _check_secret(value: str) -> None:
    # Both the official client (split on "_", b64decode) and standardwebhooks must accept it.
    prefix, _, body = value.partition("_")
    if prefix != "whsec" or not body or "_" in body:
        raise ValueError("webhook_secret must look like whsec_<base64>")
    try:
        if not base64.b64decode(body, validate=True):
            raise ValueError("empty")
    except ValueError as exc:
        raise ValueError("webhook_secret must look like whsec_<base64>") from exc


@dataclass
class EmulatorConfig:
    """Knobs. Field names are the JSON keys of the control endpoint."""

    # --- server (read-only after start) ---
    host: str = "127.0.0.1"
    port: int = 0
    api_token: str = "r8_emulator_token"
    webhook_secret: str = field(default_factory=generate_webhook_secret)
    # Base of the URLs put in predictions (urls.get, output); None = the bound address.
    public_base_url: str | None = None

    # --- lifecycle ---
    step_delay_s: float = 0.2  # pause between lifecycle steps; 0 = as fast as possible
    progress_steps: int = 5  # number of tqdm-style log updates while processing
    slow_factor: float = 10.0  # "[slow]" in the prompt multiplies step_delay_s by this
    failure_rate: float = 0.0  # chance (0..1) that an unmarked prediction fails
    seed: int | None = 0  # seeds the RNG behind failure_rate and webhook drops
    force_outcome: str | None = None  # one of OUTCOMES for every new prediction, or None
    default_model: str = "wavespeedai/wan-2.1-t2v-480p"  # reported for a bare version id
    paused: bool = False  # freeze every lifecycle where it is until set back to False

    # --- create endpoint faults ---
    create_error_count: int = 0  # the next N creates answer create_error_status
    create_error_status: int = 500  # one of CREATE_ERROR_STATUSES
    create_retry_after_s: int = 1  # Retry-After sent with 429/503
    create_delay_s: float = 0.0  # delay the create *response* (the prediction already exists)
    # hold a create this long *before* recording it (the job appears only afterwards,
    # even when the caller gave up waiting)
    create_record_delay_s: float = 0.0
    # the next N creates are recorded (the job runs) but answered create_error_status
    create_error_after_record_count: int = 0
    list_error_count: int = 0  # the next N GET /v1/predictions answer 500
    # chance (0..1) that a new prediction is lost midway: 404 from then on, no webhooks
    lose_rate: float = 0.0

    # --- webhook delivery ---
    webhook_drop_rate: float = 0.0  # chance (0..1) a message is silently never sent
    webhook_drop_all: bool = False
    webhook_duplicates: int = 0  # extra copies of each message, same webhook-id
    webhook_reorder: bool = False  # send "completed" before the last held-back update
    webhook_max_attempts: int = 5
    webhook_backoff_base_s: float = 0.5  # attempt n waits base * 2**(n-1), capped below
    webhook_backoff_max_s: float = 8.0
    webhook_timeout_s: float = 5.0  # per attempt
    webhook_delay_s: float = 0.0  # each message waits this long before its first attempt
    # chance (0..1) that a delivered message is sent again later as a capture this old
    # (its timestamp and signature from back then): receivers must refuse it as stale
    webhook_replay_rate: float = 0.0
    webhook_replay_age_s: int = 600

    # --- limits ---
    max_predictions: int = 10_000  # oldest terminal predictions are forgotten past this
    page_size: int = 100  # GET /v1/predictions page size (Replicate uses 100)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        _check_secret(self.webhook_secret)
        if not self.api_token:
            raise ValueError("api_token must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be in 0..65535")
        for name in ("failure_rate", "webhook_drop_rate", "lose_rate", "webhook_replay_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in 0..1")
        for name in (
            "step_delay_s",
            "create_delay_s",
            "create_record_delay_s",
            "webhook_backoff_base_s",
            "webhook_backoff_max_s",
            "webhook_delay_s",
        ):
            if not 0.0 <= getattr(self, name) <= 3600.0:
                raise ValueError(f"{name} must be in 0..3600")
        _check_range("progress_steps", self.progress_steps, 1, 1000)
        _check_range("create_error_count", self.create_error_count, 0, 1_000_000)
        _check_range(
            "create_error_after_record_count", self.create_error_after_record_count, 0, 1_000_000
        )
        _check_range("list_error_count", self.list_error_count, 0, 1_000_000)
        _check_range("webhook_replay_age_s", self.webhook_replay_age_s, 0, 86_400)
        _check_range("create_retry_after_s", self.create_retry_after_s, 0, 3600)
        _check_range("webhook_duplicates", self.webhook_duplicates, 0, 10)
        _check_range("webhook_max_attempts", self.webhook_max_attempts, 1, 20)
        _check_range("max_predictions", self.max_predictions, 1, 1_000_000)
        _check_range("page_size", self.page_size, 1, 1000)
        if not 1.0 <= self.slow_factor <= 1000.0:
            raise ValueError("slow_factor must be in 1..1000")
        if not 0.01 <= self.webhook_timeout_s <= 120.0:
            raise ValueError("webhook_timeout_s must be in 0.01..120")
        if self.force_outcome is not None and self.force_outcome not in OUTCOMES:
            raise ValueError(f"force_outcome must be null or one of {list(OUTCOMES)}")
        if "/" not in self.default_model:
            raise ValueError("default_model must look like owner/name")
        if self.create_error_status not in CREATE_ERROR_STATUSES:
            raise ValueError(f"create_error_status must be one of {list(CREATE_ERROR_STATUSES)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def updated(self, changes: dict[str, Any], *, allow_read_only: bool = False) -> EmulatorConfig:
        """A validated copy with `changes` applied; raises ValueError on any bad key/value."""
        known = {f.name: f for f in dataclasses.fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown config field: {key}")
            if key in READ_ONLY_FIELDS and not allow_read_only:
                raise ValueError(f"{key} cannot be changed at run time")
            _check_type(key, value, getattr(self, key), known[key].type)
        return dataclasses.replace(self, **changes)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}")


def _check_type(key: str, value: Any, current: Any, annotation: Any) -> None:
    """JSON gives us bool/int/float/str/None; reject anything the field cannot hold."""
    optional = "None" in str(annotation)
    if value is None:
        if not optional:
            raise ValueError(f"{key} must not be null")
        return
    text = str(annotation)
    if "bool" in text:
        ok = isinstance(value, bool)
    elif "float" in text:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif "int" in text:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"{key} has the wrong type ({type(value).__name__})")
