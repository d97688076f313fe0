"""Typed settings: loaded once at start, passed down, never read from os.environ later."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from .grpc_client import ClientTls
from .grpc_server import TlsFiles

PLACEHOLDER = re.compile(r"change[-_]?me", re.IGNORECASE)


class ServiceSettings(BaseSettings):
    """Fields every service has. Secrets are declared without defaults in subclasses."""

    # An empty variable counts as unset (CREDITS_TLS_CERT_PATH= must not mean ".").
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
    )

    log_level: str = "INFO"
    # The asyncio event loop the process runs on: Python's own, or uvloop (libuv).
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"
    # Seconds given to in-flight RPCs on SIGTERM before the server stops.
    shutdown_grace_s: float = 10.0

    # What a service with a *_WORKERS setting overrides: how many processes serve its
    # port, the port they share, and where /metrics is served (0: nowhere).
    @property
    def workers(self) -> int:
        return 1

    @property
    def listen_port(self) -> int:
        return 0

    @property
    def metrics_port(self) -> int:
        return 0

    @model_validator(mode="after")
    def _workers_share_a_fixed_port(self) -> ServiceSettings:
        if self.workers > 1 and self.listen_port == 0:
            name = next(n for n in type(self).model_fields if n.endswith("_workers"))
            raise ValueError(
                f"{name.upper()} > 1 needs a fixed port: the workers share it (SO_REUSEPORT)"
            )
        return self

    @model_validator(mode="after")
    def _no_published_placeholders(self) -> ServiceSettings:
        """deploy/k8s/base/secret.example.yaml is published: its CHANGE-ME values (tokens,
        passwords in URLs) are known to everyone, so a copy applied as it is must not
        start a service."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            values = value.values() if isinstance(value, dict) else [value]
            if any(isinstance(v, str) and PLACEHOLDER.search(v) for v in values):
                raise ValueError(
                    f"{name.upper()} holds a placeholder of the published example "
                    "(CHANGE-ME): set a value of your own"
                )
        return self


class GrpcServerSettings(ServiceSettings):
    """Fields of a service that serves gRPC (credits, generation)."""

    # Connections are closed after this many seconds, so clients re-resolve the
    # (headless) Service and spread over replicas that were added since.
    grpc_max_connection_age_s: float = Field(300.0, ge=1)


class GrpcClientSettings(ServiceSettings):
    """TLS towards credits and generation, for every service that calls them. All
    unset: plain text (h2c). The CA alone: TLS. With a certificate and key: mutual TLS,
    which servers with a *_TLS_CLIENT_CA_PATH require."""

    grpc_tls_ca_path: Path | None = None
    grpc_tls_client_cert_path: Path | None = None
    grpc_tls_client_key_path: Path | None = None

    @model_validator(mode="after")
    def _client_tls_whole(self) -> GrpcClientSettings:
        cert, key = self.grpc_tls_client_cert_path, self.grpc_tls_client_key_path
        if (cert is None) != (key is None):
            raise ValueError("set GRPC_TLS_CLIENT_CERT_PATH and GRPC_TLS_CLIENT_KEY_PATH together")
        if cert is not None and self.grpc_tls_ca_path is None:
            raise ValueError("a client certificate needs GRPC_TLS_CA_PATH (TLS) as well")
        return self

    @property
    def client_tls(self) -> ClientTls | None:
        if self.grpc_tls_ca_path is None:
            return None
        return ClientTls(
            self.grpc_tls_ca_path, self.grpc_tls_client_cert_path, self.grpc_tls_client_key_path
        )


def port_of(address: str) -> int:
    """The port of a host:port address; 0 when it has none (let the system pick)."""
    port = address.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else 0


def server_tls(cert: Path | None, key: Path | None, client_ca: Path | None) -> TlsFiles | None:
    """A service's server TLS from its *_TLS_* settings (checked whole by its settings)."""
    if cert is None or key is None:
        return None
    return TlsFiles(cert, key, client_ca)


def tls_settings_whole(prefix: str, cert: Path | None, key: Path | None, ca: Path | None) -> None:
    if (cert is None) != (key is None):
        raise ValueError(f"set {prefix}_TLS_CERT_PATH and {prefix}_TLS_KEY_PATH together")
    if ca is not None and cert is None:
        raise ValueError(f"{prefix}_TLS_CLIENT_CA_PATH (mutual TLS) needs TLS itself")


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
