"""Wiring and process entry point: `python -m videogen_generation.main`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import grpc

from videogen.generation.v1 import generation_pb2, generation_pb2_grpc
from videogen_common.caller_auth import CallerAuthenticator
from videogen_common.db import libpq_url, open_pool
from videogen_common.grpc_client import open_channel
from videogen_common.grpc_server import (
    Registration,
    ServerOptions,
    Servers,
    create_server,
    follow_database,
    set_serving,
)
from videogen_common.metrics import serve_metrics
from videogen_common.pg_listen import Listener
from videogen_common.service_main import run_service
from videogen_common.settings import server_tls

from .catalog import Catalog
from .credits_client import CreditsClient
from .events import EventLog, parse_notification
from .faults import Faults
from .output_fetch import AllowedHosts, OutputFetcher
from .provider import ReplicateProvider
from .recovery import Recovery, RecoveryConfig
from .repository import GenerationRepository
from .service import FlowConfig, GenerationFlow
from .servicer import GenerationServicer
from .settings import GenerationSettings
from .storage import LocalStorage

if TYPE_CHECKING:
    from .s3_storage import S3Storage

log = logging.getLogger(__name__)
SERVICE_NAME = generation_pb2.DESCRIPTOR.services_by_name["GenerationService"].full_name


@dataclass
class GenerationApp:
    server: Servers
    port: int
    flow: GenerationFlow
    recovery: Recovery
    listener: Listener
    channel: grpc.aio.Channel
    tasks: list[asyncio.Task]

    # In-flight RPCs get this long on SIGTERM (SHUTDOWN_GRACE_S).
    grace_s: float = 5.0

    async def stop(self, grace_s: float | None = None) -> None:
        await self.server.stop(self.grace_s if grace_s is None else grace_s)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.listener.stop()
        await self.flow.provider.close()
        await self.channel.close()
        await self.flow.repo.close()


def build_storage(settings: GenerationSettings) -> LocalStorage | S3Storage:
    # boto3 is imported only with a bucket: it costs every process ~30 MB of memory.
    from .s3_storage import S3Storage

    s = settings
    fetcher = OutputFetcher(
        AllowedHosts.parse(s.output_hosts),
        s.generation_output_fetch_timeout_s,
        s.generation_output_bytes_max,
    )
    if s.generation_s3_bucket:
        return S3Storage(
            s.generation_s3_bucket,
            s.generation_media_base_url,
            s.generation_replicate_timeout_s,
            fetcher,
            url_ttl_s=s.generation_media_url_ttl_s,
            endpoint_url=s.generation_s3_endpoint_url,
            region=s.generation_s3_region,
            access_key_id=s.generation_s3_access_key_id,
            secret_access_key=s.generation_s3_secret_access_key,
        )
    return LocalStorage(
        s.generation_media_dir,
        s.generation_media_base_url,
        fetcher,
        url_secret=s.media_url_secret,
        url_ttl_s=s.generation_media_url_ttl_s,
    )


def build_flow(settings: GenerationSettings, channel: grpc.aio.Channel) -> GenerationFlow:
    # Idle, one connection; grows to GENERATION_DB_POOL_SIZE under load.
    pool = open_pool(libpq_url(settings.database_url), settings.generation_db_pool_size, min_size=1)
    points = frozenset(p for p in settings.generation_faults.split(",") if p)
    return GenerationFlow(
        repo=GenerationRepository(pool, timedelta(seconds=settings.generation_lease_s)),
        credits=CreditsClient(
            channel, settings.generation_credits_token, settings.generation_credits_timeout_s
        ),
        provider=ReplicateProvider(
            settings.replicate_api_token,
            settings.replicate_base_url,
            settings.generation_replicate_timeout_s,
        ),
        storage=build_storage(settings),
        catalog=Catalog(),
        faults=Faults(points, settings.generation_faults_exit),
        config=FlowConfig(
            settings.webhook_public_url,
            timedelta(seconds=settings.generation_poll_after_s),
            create_attempts_max=settings.generation_replicate_create_attempts,
            create_settle=timedelta(seconds=settings.generation_create_settle_s),
            hold_timeout_s=settings.generation_hold_timeout_s,
        ),
    )


async def start(settings: GenerationSettings, *, recover: bool = True) -> GenerationApp:
    channel = open_channel(settings.credits_address, settings.client_tls)
    flow = build_flow(settings, channel)
    await flow.repo.open()
    events = EventLog(flow.repo.pool)
    recovery = Recovery(
        flow,
        events,
        RecoveryConfig(
            interval_s=settings.generation_recovery_interval_s,
            batch_max=settings.generation_recovery_batch_max,
            submit_within=timedelta(seconds=settings.generation_submit_within_s),
            age_max=timedelta(seconds=settings.generation_age_max_s),
            poll_after=timedelta(seconds=settings.generation_poll_after_s),
            poll_backoff_max=timedelta(seconds=settings.generation_poll_backoff_max_s),
            events_keep=timedelta(seconds=settings.generation_events_keep_s),
        ),
    )
    listener: Listener[int] = Listener(
        libpq_url(settings.database_url), "generation_changes", parse_notification
    )
    listener.start()
    servicer = GenerationServicer(
        flow, flow.catalog, CallerAuthenticator(settings.generation_caller_tokens), listener, events
    )
    registration = Registration(
        lambda s: generation_pb2_grpc.add_GenerationServiceServicer_to_server(servicer, s),
        SERVICE_NAME,
    )
    s = settings
    options = ServerOptions(
        server_tls(
            s.generation_tls_cert_path, s.generation_tls_key_path, s.generation_tls_client_ca_path
        ),
        s.grpc_max_connection_age_s,
        s.generation_health_port,
        s.workers > 1,
    )
    server, port, health = create_server([registration], s.generation_grpc_address, options)
    await server.start()
    await set_serving(health, [SERVICE_NAME], False)
    tasks = [
        asyncio.create_task(
            follow_database(
                flow.repo.ping, health, [SERVICE_NAME], settings.generation_health_interval_s
            )
        )
    ]
    if recover:
        tasks.append(asyncio.create_task(recovery.run_forever()))
    serve_metrics(settings)
    return GenerationApp(
        server, port, flow, recovery, listener, channel, tasks, settings.shutdown_grace_s
    )


def main() -> None:
    run_service("generation", GenerationSettings, start)


if __name__ == "__main__":
    main()
