"""A user's cancel ends a generation only while its job is the one the cancel saw.

The cancel reads the row, stops the job it names at the provider (if any), then ends the
row. A job stored in between (a webhook adopting the create that landed, or that create's
own answer) would be left running, unseen and unpaid, were the row ended anyway: the end
is refused and the cancel looks again."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from videogen_common.db import libpq_url, open_pool
from videogen_generation.domain import Status
from videogen_generation.repository import GenerationRepository

INI = Path(__file__).resolve().parents[2] / "alembic.ini"


@pytest.fixture
async def repo(fresh_database):
    repository = GenerationRepository(open_pool(libpq_url(fresh_database(INI)), 2), timedelta(60))
    await repository.pool.open(wait=True)
    yield repository
    await repository.close()


async def _queued(repo: GenerationRepository) -> str:
    gen, lease = await repo.insert_or_get(
        dict(
            id=str(uuid.uuid4()),
            user_id=str(uuid.uuid4()),
            idempotency_key="k",
            fingerprint="f",
            model="t2v-14B",
            resolution="480p",
            prompt="a red fox running through fresh snow",
            negative_prompt="",
            duration_s=5,
            seed=None,
            image_url=None,
            provider_model="wavespeedai/wan-2.1-t2v-480p",
            provider_input={"prompt": "a red fox"},
            price=10,
            retry_of=None,
        )
    )
    assert lease is not None
    await repo.mark_reserved(gen.id)
    return gen.id


async def test_a_job_stored_after_the_cancel_read_the_row_keeps_it_open(repo):
    generation_id = await _queued(repo)
    seen = await repo.get(generation_id)
    assert seen is not None and seen.prediction_id is None
    # Meanwhile the create lands and its job is stored.
    assert await repo.store_prediction(generation_id, "job-1", timedelta(seconds=5))
    assert await repo.end_canceled(generation_id, seen.prediction_id) is None
    still = await repo.get(generation_id)
    assert still is not None and still.status is Status.STARTING
    # Looked at again, the cancel names that job (stopped at the provider first): ended.
    ended = await repo.end_canceled(generation_id, still.prediction_id)
    assert ended is not None and ended.status is Status.CANCELED
    assert ended.prediction_id == "job-1"


async def test_a_generation_without_a_job_is_canceled_when_none_appeared(repo):
    generation_id = await _queued(repo)
    ended = await repo.end_canceled(generation_id, None)
    assert ended is not None and ended.status is Status.CANCELED
    assert await repo.end_canceled(generation_id, None) is None  # ended once
