"""Typed settings: loaded once at start, passed down, never read from os.environ later."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError


class ServiceSettings(BaseSettings):
    """Fields every service has. Secrets are declared without defaults in subclasses."""

    # An empty variable counts as unset (CREDITS_TLS_CERT_PATH= must not mean ".").
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
    )

    log_level: str = "INFO"
    # Seconds given to in-flight RPCs on SIGTERM before the server stops.
    shutdown_grace_s: float = 10.0


S = TypeVar("S", bound="ServiceSettings")


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build settings or stop the process with a message naming each bad variable."""
    try:
        make: Callable[..., S] = cls  # BaseSettings reads the environment in __init__
        return make(**overrides)
    except ValidationError as exc:
        lines = [f"invalid configuration for {cls.__name__}:"]
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"  {name}: {err['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None
    except SettingsError as exc:
        # Raised for a value that is not even parseable (malformed JSON, say).
        print(f"invalid configuration for {cls.__name__}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
