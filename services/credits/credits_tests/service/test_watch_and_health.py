"""WatchBalance across replicas; health follows the database."""

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from videogen.credits.v1 import credits_pb2 as pb
from videogen_common.db import libpq_url
from videogen_common.testing.tcp_proxy import TcpProxy, upstream_of
from videogen_common.testing.waits import eventually
from videogen_credits.main import SERVICE_NAME, start

from ..conftest import Callers, credits_settings
from ..helpers import account_with, new_key


async def _next(stream, timeout_s: float = 5.0):
    return await asyncio.wait_for(stream.read(), timeout_s)


async def test_watch_sees_changes_made_by_another_replica(credits, credits_db):
    user = await account_with(credits, 40)
    other = await start(credits_settings(credits_db))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{other.port}") as channel:
            replica = Callers(channel)
            stream = credits.api.WatchBalance(pb.WatchBalanceRequest(user_id=user))
            first = await _next(stream)
            entries = await credits.api.ListTransactions(pb.ListTransactionsRequest(user_id=user))
            assert (first.balance, first.entry_id) == (40, entries.entries[0].id)
            charged = await replica.generation.Deduct(
                pb.DeductRequest(
                    user_id=user, amount=38, reference=f"w-{user}", idempotency_key=new_key()
                )
            )
            change = await _next(stream)
            assert (change.balance, change.entry_id, change.amount, change.kind) == (
                2,
                charged.entry.id,
                -38,
                pb.ENTRY_KIND_USAGE,
            )
            assert change.low_balance
            await replica.generation.Refund(
                pb.RefundRequest(reference=f"w-{user}", idempotency_key=new_key())
            )
            change = await _next(stream)
            assert (change.balance, change.kind, change.low_balance) == (
                40,
                pb.ENTRY_KIND_REFUND,
                False,
            )
            stream.cancel()
    finally:
        await other.stop(0)


async def test_watch_of_unknown_user_is_refused(credits):
    stream = credits.api.WatchBalance(
        pb.WatchBalanceRequest(user_id="00000000-0000-4000-8000-000000000000")
    )
    try:
        await _next(stream)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    else:
        raise AssertionError("expected INVALID_ARGUMENT")


async def _health(port: int, service: str) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return (await stub.Check(health_pb2.HealthCheckRequest(service=service))).status


async def test_health_is_serving_with_a_database_and_open_without_a_token(credits_app):
    await _wait_for_health(credits_app.port, health_pb2.HealthCheckResponse.SERVING)
    assert await _health(credits_app.port, "") == health_pb2.HealthCheckResponse.SERVING


async def _wait_for_health(port: int, wanted: int, timeout_s: float = 10.0) -> None:
    async def reached() -> bool:
        return await _health(port, SERVICE_NAME) == wanted

    await eventually(reached, timeout_s=timeout_s)


async def test_health_follows_the_database_through_an_outage(credits_db):
    proxy = TcpProxy(*upstream_of(libpq_url(credits_db)))
    await proxy.start()
    dbname = make_url(credits_db).database
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{dbname}"
    app = await start(credits_settings(url, credits_health_interval_s=0.1))
    serving, not_serving = (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )
    try:
        await _wait_for_health(app.port, serving)
        await proxy.cut()
        await _wait_for_health(app.port, not_serving)
        await proxy.restore()
        await _wait_for_health(app.port, serving)
    finally:
        await app.stop(0)
        await proxy.cut()
