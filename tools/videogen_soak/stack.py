"""The soak's stack: its own PostgreSQL behind a TCP proxy that faults can cut, two
replicas each of credits and generation, both gateways and the Replicate emulator, each
a process of its own on loopback, wired as `make run` wires them."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from videogen_common.migrations import upgrade_to_head
from videogen_common.testing.tcp_proxy import TcpProxy
from videogen_common.testing.waits import free_ports

from .cluster import Cluster
from .processes import Service, grpc_serving, http_ok, python

ROOT = Path(__file__).resolve().parents[2]
INIS = sorted((ROOT / "services").glob("*/alembic.ini"))
CREDITS_CALLERS = ("api", "generation", "payments", "admin")


@dataclass
class Secrets:
    jwt: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    events: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    media: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    replicate_token: str = field(default_factory=lambda: "r8_" + secrets.token_urlsafe(16))
    replicate_webhook: str = field(
        default_factory=lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    )
    stripe_webhook: str = field(default_factory=lambda: "whsec_" + secrets.token_hex(16))
    credits_tokens: dict = field(
        default_factory=lambda: {c: secrets.token_urlsafe(24) for c in CREDITS_CALLERS}
    )
    generation_tokens: dict = field(
        default_factory=lambda: {c: secrets.token_urlsafe(24) for c in ("api", "webhooks")}
    )


class Stack:
    def __init__(self, directory: Path, seed: int) -> None:
        self.dir = directory
        self.seed = seed
        self.secrets = Secrets()
        names = (
            "credits-1",
            "credits-2",
            "generation-1",
            "generation-2",
            "emulator",
            "webhook-gateway",
            "api-gateway",
        )
        # Every port of the run drawn at once, distinct, the proxy's too: a listener
        # bound later on port 0 could otherwise take one meant for a service.
        postgres, proxy, *ports = free_ports(2 + len(names))
        self.cluster = Cluster(directory, postgres)
        self.db_proxy = TcpProxy("127.0.0.1", self.cluster.port)
        self.db_proxy.port = proxy
        self.ports = dict(zip(names, ports, strict=True))
        self.services: dict[str, Service] = {}

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    @property
    def api_url(self) -> str:
        return f"http://{self.address('api-gateway')}"

    @property
    def webhooks_url(self) -> str:
        return f"http://{self.address('webhook-gateway')}"

    @property
    def emulator_url(self) -> str:
        return f"http://{self.address('emulator')}"

    def _env(self, **values: str) -> dict[str, str]:
        base = {
            "PATH": "/usr/bin:/bin",
            "LOG_LEVEL": "INFO",
            "SHUTDOWN_GRACE_S": "2",
            "PYTHONUNBUFFERED": "1",
            "HOME": str(self.dir),
            "DATABASE_URL": (f"postgresql://postgres@127.0.0.1:{self.db_proxy.port}/videogen"),
        }
        return {**base, **values}

    def _define(self) -> None:
        s, media = self.secrets, str(self.dir / "media")
        credits_both = f"{self.address('credits-1')},{self.address('credits-2')}"
        generation_both = f"{self.address('generation-1')},{self.address('generation-2')}"
        logs = self.dir / "logs"
        for name in ("credits-1", "credits-2"):
            self.services[name] = Service(
                name,
                python("-m", "videogen_credits.main"),
                self._env(
                    CREDITS_CALLER_TOKENS=json.dumps(s.credits_tokens),
                    CREDITS_GRPC_ADDRESS=self.address(name),
                    CREDITS_HEALTH_INTERVAL_S="0.5",
                ),
                _grpc(self.address(name)),
                logs / f"{name}.log",
            )
        self.services["emulator"] = Service(
            "emulator",
            python(
                "-m",
                "replicate_emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports["emulator"]),
                "--webhook-secret",
                s.replicate_webhook,
                "--seed",
                str(self.seed),
                "--step-delay-s",
                "0.15",
                "--progress-steps",
                "4",
                "--config-json",
                json.dumps(
                    {
                        "webhook_backoff_base_s": 0.2,
                        "webhook_backoff_max_s": 2.0,
                        "webhook_max_attempts": 6,
                    }
                ),
            ),
            self._env(REPLICATE_API_TOKEN=s.replicate_token),
            http_ok(f"{self.emulator_url}/_emulator/health"),
            logs / "emulator.log",
        )
        for name in ("generation-1", "generation-2"):
            self.services[name] = Service(
                name,
                python("-m", "videogen_generation.main"),
                self._env(
                    GENERATION_CALLER_TOKENS=json.dumps(s.generation_tokens),
                    GENERATION_GRPC_ADDRESS=self.address(name),
                    GENERATION_CREDITS_TOKEN=s.credits_tokens["generation"],
                    CREDITS_ADDRESS=credits_both,
                    REPLICATE_API_TOKEN=s.replicate_token,
                    REPLICATE_BASE_URL=self.emulator_url,
                    WEBHOOK_PUBLIC_URL=self.webhooks_url,
                    GENERATION_MEDIA_DIR=media,
                    GENERATION_MEDIA_BASE_URL=f"{self.api_url}/media",
                    MEDIA_URL_SECRET=s.media,
                    GENERATION_REPLICATE_TIMEOUT_S="2",
                    GENERATION_LEASE_S="5",
                    GENERATION_CREATE_SETTLE_S="10",
                    GENERATION_POLL_AFTER_S="3",
                    GENERATION_POLL_BACKOFF_MAX_S="10",
                    GENERATION_RECOVERY_INTERVAL_S="0.5",
                    GENERATION_AGE_MAX_S="90",
                    GENERATION_SUBMIT_WITHIN_S="120",
                    GENERATION_HEALTH_INTERVAL_S="0.5",
                ),
                _grpc(self.address(name)),
                logs / f"{name}.log",
            )
        self.services["webhook-gateway"] = Service(
            "webhook-gateway",
            python("-m", "videogen_webhook_gateway.main"),
            self._env(
                WEBHOOK_GATEWAY_PORT=str(self.ports["webhook-gateway"]),
                REPLICATE_WEBHOOK_SECRET=s.replicate_webhook,
                STRIPE_WEBHOOK_SECRET=s.stripe_webhook,
                CREDITS_ADDRESS=credits_both,
                WEBHOOK_GATEWAY_CREDITS_TOKEN=s.credits_tokens["payments"],
                GENERATION_ADDRESS=generation_both,
                WEBHOOK_GATEWAY_GENERATION_TOKEN=s.generation_tokens["webhooks"],
                WEBHOOK_GATEWAY_FORWARD_TIMEOUT_S="5",
            ),
            http_ok(f"{self.webhooks_url}/health"),
            logs / "webhook-gateway.log",
        )
        self.services["api-gateway"] = Service(
            "api-gateway",
            python("-m", "videogen_api_gateway.main"),
            self._env(
                API_GATEWAY_PORT=str(self.ports["api-gateway"]),
                AUTH_JWT_SECRET=s.jwt,
                API_GATEWAY_EVENTS_SECRET=s.events,
                MEDIA_URL_SECRET=s.media,
                CREDITS_ADDRESS=credits_both,
                GENERATION_ADDRESS=generation_both,
                API_GATEWAY_CREDITS_TOKEN=s.credits_tokens["api"],
                API_GATEWAY_CREDITS_ADMIN_TOKEN=s.credits_tokens["admin"],
                API_GATEWAY_GENERATION_TOKEN=s.generation_tokens["api"],
                API_GATEWAY_GENERATION_RATE_LIMIT="10000/minute",
                API_GATEWAY_UPSTREAM_TIMEOUT_S="8",
                API_GATEWAY_MEDIA_DIR=media,
            ),
            http_ok(f"{self.api_url}/health"),
            logs / "api-gateway.log",
        )

    async def start(self) -> None:
        self.cluster.init()
        self.cluster.start()
        self.cluster.create_database()
        for ini in INIS:
            upgrade_to_head(ini, self.cluster.url)
        await self.db_proxy.start()
        self._define()
        for service in self.services.values():
            await service.start()

    async def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            await service.stop()
        await self.db_proxy.cut()
        self.cluster.stop()


def _grpc(address: str):
    async def ready() -> bool:
        return await grpc_serving(address)

    return ready
