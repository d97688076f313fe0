"""Wiring and process entry point: `python -m videogen_credits.main`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine

from videogen.credits.v1 import credits_pb2, credits_pb2_grpc
from videogen_common.caller_auth import CallerAuthenticator
from videogen_common.db import create_engine, libpq_url, open_pool, ping
from videogen_common.grpc_server import (
    Registration,
    ServerOptions,
    Servers,
    create_server,
    follow_database,
    set_serving,
)
from videogen_common.metrics import serve_metrics
from videogen_common.service_main import run_service
from videogen_common.settings import server_tls

from .balance_feed import BalanceFeed
from .billing import Billing, Catalog
from .domain import Package, Plan
from .mutations_store import MutationStore
from .repository import LedgerRepository
from .service import Ledger, LedgerConfig
from .servicer import CreditsServicer
from .settings import CreditsSettings
from .sweeper import Sweeper

log = logging.getLogger(__name__)
SERVICE_NAME = credits_pb2.DESCRIPTOR.services_by_name["CreditsService"].full_name
# How long start-up waits to write the configured plans before leaving it to the health loop.
PLAN_SYNC_TIMEOUT_S = 5.0


@dataclass
class CreditsApp:
    server: Servers
    port: int
    ledger: Ledger
    engine: AsyncEngine
    pool: AsyncConnectionPool
    feed: BalanceFeed
    health_task: asyncio.Task

    # In-flight RPCs get this long on SIGTERM (SHUTDOWN_GRACE_S).
    grace_s: float = 5.0
    sweep_task: asyncio.Task | None = None
    sweeper: Sweeper | None = None

    async def stop(self, grace_s: float | None = None) -> None:
        await self.server.stop(self.grace_s if grace_s is None else grace_s)
        tasks = [t for t in (self.health_task, self.sweep_task) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.ledger.close()
        await self.feed.stop()
        await self.pool.close()
        await self.engine.dispose()


def catalog_of(settings: CreditsSettings) -> Catalog:
    return Catalog(
        packages={
            name: Package(name, p.credits, p.price, p.currency)
            for name, p in settings.credit_packages.items()
        },
        plans={
            code: Plan(code, p.allotment, p.rollover_cap, p.unlimited)
            for code, p in settings.credits_plans.items()
        },
        subscription_grace=timedelta(seconds=settings.credits_subscription_grace_s),
    )


def _server_options(settings: CreditsSettings) -> ServerOptions:
    s = settings
    return ServerOptions(
        server_tls(s.credits_tls_cert_path, s.credits_tls_key_path, s.credits_tls_client_ca_path),
        s.grpc_max_connection_age_s,
        s.credits_health_port,
        s.workers > 1,
    )


async def start(settings: CreditsSettings) -> CreditsApp:
    engine = create_engine(settings.database_url, pool_size=settings.credits_db_pool_size)
    pool = open_pool(libpq_url(settings.database_url), settings.credits_db_pool_size)
    await pool.open(wait=False)
    repo = LedgerRepository(engine, pool)
    ledger = Ledger(
        repo,
        MutationStore(pool),
        LedgerConfig(
            signup_grant=settings.credits_signup_grant,
            low_balance_threshold=settings.credits_low_balance_threshold,
            amount_max=settings.credits_amount_max,
            batch_max=settings.credits_batch_max,
            batches_in_flight_max=settings.credits_batches_in_flight_max,
            queue_max=settings.credits_queue_max,
            hold_timeout_default_s=settings.credits_hold_timeout_default_s,
            hold_timeout_max_s=settings.credits_hold_timeout_max_s,
        ),
    )
    catalog = catalog_of(settings)
    billing = Billing(ledger, catalog)
    feed = BalanceFeed(libpq_url(settings.database_url))
    feed.start()
    servicer = CreditsServicer(
        ledger, billing, CallerAuthenticator(settings.credits_caller_tokens), feed
    )
    registration = Registration(
        lambda server: credits_pb2_grpc.add_CreditsServiceServicer_to_server(servicer, server),
        SERVICE_NAME,
    )
    server, port, health = create_server(
        [registration], settings.credits_grpc_address, _server_options(settings)
    )
    await set_serving(health, [SERVICE_NAME], False)

    async def sync_plans() -> None:
        await repo.sync_plans(list(catalog.plans.values()))

    # Accounts refer to plans by row: a call served before the configured plans are
    # written would find one unknown. Written now when the database answers, else as
    # soon as it does (health stays NOT_SERVING until then).
    try:
        async with asyncio.timeout(PLAN_SYNC_TIMEOUT_S):
            await sync_plans()
        first_contact = None
    except Exception as error:
        log.warning("plans not written yet", extra={"error": type(error).__name__})
        first_contact = sync_plans
    await server.start()
    health_task = asyncio.create_task(
        follow_database(
            lambda: ping(pool),
            health,
            [SERVICE_NAME],
            settings.credits_health_interval_s,
            on_first_contact=first_contact,
        )
    )
    sweeper = Sweeper(
        ledger, settings.credits_expiry_sweep_interval_s, settings.credits_hold_sweep_interval_s
    )
    sweep_task = asyncio.create_task(sweeper.run_forever())
    serve_metrics(settings)
    return CreditsApp(
        server,
        port,
        ledger,
        engine,
        pool,
        feed,
        health_task,
        settings.shutdown_grace_s,
        sweep_task,
        sweeper,
    )


def main() -> None:
    run_service("credits", CreditsSettings, start)


if __name__ == "__main__":
    main()
