"""Typed settings: loaded once at start, passed down, never read from os.environ later."""
from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Fields every service has. Secrets are declared without defaults in subclasses."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    log_level: str = "INFO"
    # 0 disables the Prometheus endpoint (tests run many servers in one process).
    metrics_port: int = 0
    # Seconds given to in-flight RPCs on SIGTERM before the server stops.
    shutdown_grace_s: float = 10.0


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build settings or stop the process with a message naming each bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = [f"invalid configuration for {cls.__name__}:"]
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"  {name}: {err['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
