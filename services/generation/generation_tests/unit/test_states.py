"""What a poll's answer means, and provider text made storable: plain rules, no I/O."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from videogen_common.errors import InvalidArgument
from videogen_generation.catalog import Catalog
from videogen_generation.domain import (
    MISSING_POLLS_MAX,
    UNREACHABLE_AGE_FACTOR,
    Charge,
    Generation,
    PollVerdict,
    ProviderNews,
    Settlement,
    Status,
    judge_poll,
    owes_copy,
    settlement_due,
)
from videogen_generation.rules import Request, check_request

USER = "6f1c1d3e-8a55-4d6b-9d55-2f1b8e0c4a11"
AGE_MAX = timedelta(minutes=30)
YOUNG, OLD = timedelta(minutes=1), timedelta(minutes=31)


def running(**changes) -> Generation:
    gen = Generation(
        "g1",
        USER,
        "t2v-14B",
        "480p",
        "p",
        "",
        5,
        None,
        None,
        "m",
        {},
        10,
        Status.PROCESSING,
        40,
        Charge.CHARGED,
        "p1",
        None,
        None,
        None,
        "40%|",
        None,
        datetime.now(UTC),
        None,
        1,
    )
    return replace(gen, **changes)


def news(status, logs="40%|", output=None) -> ProviderNews:
    return ProviderNews.from_json({"id": "p1", "status": status, "logs": logs, "output": output})


def test_a_finished_job_is_delivered_however_old():
    done = news("succeeded", output="https://x/out.mp4")
    assert judge_poll(running(), done, missing=False, age=OLD, age_max=AGE_MAX) is PollVerdict.APPLY
    assert (
        judge_poll(running(), news("failed"), missing=False, age=OLD * 10, age_max=AGE_MAX)
        is PollVerdict.APPLY
    )


def test_only_a_job_still_running_past_the_age_is_timed_out():
    assert (
        judge_poll(running(), news("processing", "40%|"), missing=False, age=OLD, age_max=AGE_MAX)
        is PollVerdict.TIME_OUT
    )
    assert (
        judge_poll(running(), news("processing", "40%|"), missing=False, age=YOUNG, age_max=AGE_MAX)
        is PollVerdict.BACK_OFF
    )
    assert (
        judge_poll(running(), news("processing", "70%|"), missing=False, age=YOUNG, age_max=AGE_MAX)
        is PollVerdict.APPLY
    )


def test_a_provider_that_cannot_be_asked_is_given_time():
    assert (
        judge_poll(running(), None, missing=False, age=OLD, age_max=AGE_MAX) is PollVerdict.BACK_OFF
    )
    beyond = AGE_MAX * UNREACHABLE_AGE_FACTOR + timedelta(seconds=1)
    assert (
        judge_poll(running(), None, missing=False, age=beyond, age_max=AGE_MAX)
        is PollVerdict.TIME_OUT
    )


def test_a_job_the_provider_forgot_is_lost_after_a_bounded_number_of_polls():
    for seen in range(MISSING_POLLS_MAX - 1):
        assert (
            judge_poll(
                running(provider_missing=seen), None, missing=True, age=YOUNG, age_max=AGE_MAX
            )
            is PollVerdict.BACK_OFF
        )
    assert (
        judge_poll(
            running(provider_missing=MISSING_POLLS_MAX - 1),
            None,
            missing=True,
            age=YOUNG,
            age_max=AGE_MAX,
        )
        is PollVerdict.LOST
    )


def test_what_a_terminal_generation_still_owes():
    failed = running(status=Status.FAILED, charge=Charge.RESERVED)
    assert settlement_due(failed) is Settlement.RELEASE
    assert settlement_due(replace(failed, charge=Charge.PENDING)) is Settlement.ASK_AGAIN
    assert settlement_due(replace(failed, charge=Charge.CHARGED)) is Settlement.REFUND
    for done in (Charge.RELEASED, Charge.REFUNDED, Charge.NONE):
        assert settlement_due(replace(failed, charge=done)) is Settlement.NOTHING
    delivered = replace(failed, status=Status.SUCCEEDED)
    assert settlement_due(delivered) is Settlement.CAPTURE
    assert settlement_due(replace(delivered, charge=Charge.CHARGED)) is Settlement.NOTHING
    assert settlement_due(replace(delivered, charge=Charge.CAPTURED)) is Settlement.NOTHING
    assert settlement_due(running()) is Settlement.NOTHING  # still running: holds stay
    done = running(status=Status.SUCCEEDED, output_url="https://x/o.mp4")
    assert owes_copy(done)
    assert not owes_copy(replace(done, copy_lost=True))
    assert not owes_copy(replace(done, video_url="https://ours/o.mp4"))


def test_provider_text_is_made_storable():
    cleaned = ProviderNews.from_json(
        {
            "id": "p\x001",
            "status": "failed",
            "logs": "50%|\x00 boom",
            "error": "bad\x00 gpu",
            "output": "https://x/\x00.mp4",
        }
    )
    assert (cleaned.prediction_id, cleaned.logs, cleaned.error) == ("p1", "50%| boom", "bad gpu")
    assert cleaned.output_url is None  # not a URL anyone can fetch
    odd = ProviderNews.from_json({"id": 7, "status": None, "output": {"video": "x"}})
    assert (odd.prediction_id, odd.status, odd.output_url) == ("7", "", None)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"prompt": "a red fox\x00 running through snow"}, "prompt"),
        ({"negative_prompt": "blur\x00"}, "negative_prompt"),
        ({"model": "i2v-14B", "image_url": "https://example.com/a\x00.png"}, "image_url"),
        ({"model": "i2v-14B", "image_url": "https://example.com/a b.png"}, "image_url"),
    ],
)
def test_control_characters_are_refused_by_field(changes, field):
    values = dict(
        user_id=USER,
        model="t2v-14B",
        resolution="480p",
        prompt="a red fox running through snow",
        negative_prompt="",
        duration_s=5,
        seed=None,
        image_url=None,
        image_bytes=None,
    )
    values.update(changes)
    with pytest.raises(InvalidArgument) as caught:
        check_request(Request(**values), Catalog())
    assert [v.field for v in caught.value.violations] == [field]
