"""A task cancelled while it waits for a pool connection stops, even when the cancel
lands as the connection is handed to it (videogen_common.db.Pool).

With psycopg_pool's own AsyncConnectionPool on Python 3.11 most such tasks go on
running (asyncio.wait_for inside the pool returns the connection and drops the cancel):
the generation service's recovery loop, cancelled on shutdown, kept claiming rows and
sent a second create for a generation whose first was still landing."""

import asyncio

from videogen_common.db import libpq_url, open_pool

TRIALS = 60


async def _query_forever(pool) -> None:
    while True:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")


async def _until(condition, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.001)


async def test_a_task_cancelled_as_it_is_handed_a_connection_stops(pg_server_url):
    pool = open_pool(libpq_url(pg_server_url), size=1)
    await pool.open(wait=True)
    kept_running = 0
    try:
        for trial in range(TRIALS):
            held = await pool.getconn()
            waiter = asyncio.create_task(_query_forever(pool))
            await _until(lambda: pool.get_stats().get("requests_waiting", 0) == 1)
            await pool.putconn(held)  # handed to the waiter...
            for _ in range(trial % 4):  # ...and cancelled a few loop turns later
                await asyncio.sleep(0)
            waiter.cancel()
            done, _ = await asyncio.wait([waiter], timeout=1.0)
            if not done:
                kept_running += 1
                waiter.cancel()
                await asyncio.wait([waiter], timeout=1.0)
            else:
                assert waiter.cancelled()
        # The pool is still whole: every connection it handed out came back.
        async with pool.connection() as conn:
            assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)
        assert pool.get_stats()["pool_available"] == 1
    finally:
        await pool.close()
    assert kept_running == 0, f"{kept_running} of {TRIALS} cancelled tasks went on"
