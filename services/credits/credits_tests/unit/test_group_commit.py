"""Group commit: batching under concurrency, order of results, shared failures."""

import asyncio

import pytest

from videogen_credits.group_commit import GroupCommitter


async def test_concurrent_requests_share_batches_and_keep_their_own_results():
    seen_batches = []

    async def execute(items):
        seen_batches.append(list(items))
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    committer = GroupCommitter(execute, batch_max=8, batches_in_flight_max=1, queue_max=100)
    results = await asyncio.gather(*(committer.submit(i) for i in range(20)))
    assert results == [i * 10 for i in range(20)]
    assert len(seen_batches) < 20, "concurrent requests should have been grouped"
    assert max(len(b) for b in seen_batches) <= 8
    assert sorted(x for b in seen_batches for x in b) == list(range(20))


async def test_a_lone_request_runs_at_once():
    async def execute(items):
        return list(items)

    committer = GroupCommitter(execute, batch_max=8, batches_in_flight_max=1, queue_max=100)
    assert await asyncio.wait_for(committer.submit("x"), 1) == "x"


async def test_a_failed_batch_fails_each_of_its_requests_and_later_batches_still_run():
    async def execute(items):
        await asyncio.sleep(0.01)
        if 1 in items:
            raise RuntimeError("database went away")
        return list(items)

    committer = GroupCommitter(execute, batch_max=2, batches_in_flight_max=1, queue_max=100)
    # 0 runs alone at once; 1..4 queue behind it and form the batches [1, 2] and [3, 4].
    outcomes = await asyncio.gather(
        *(committer.submit(i) for i in range(5)), return_exceptions=True
    )
    assert outcomes[0] == 0
    assert [type(o) for o in outcomes[1:3]] == [RuntimeError, RuntimeError]
    assert outcomes[3:] == [3, 4]


async def test_batches_in_flight_are_bounded():
    running = peak = 0

    async def execute(items):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1
        return list(items)

    committer = GroupCommitter(execute, batch_max=1, batches_in_flight_max=3, queue_max=100)
    await asyncio.gather(*(committer.submit(i) for i in range(30)))
    assert peak == 3


def test_limits_are_checked():
    with pytest.raises(AssertionError):
        GroupCommitter(lambda items: items, batch_max=0, batches_in_flight_max=1, queue_max=1)
