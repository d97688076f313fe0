"""Request bodies as the seed's API takes them, and our messages in its JSON shapes:
plain rules, no I/O."""

from datetime import UTC, datetime

import pytest

from videogen.credits.v1 import credits_pb2 as cpb
from videogen.generation.v1 import generation_pb2 as gpb
from videogen_api_gateway.bodies import generation_fields, is_text
from videogen_api_gateway.events import parse_event_id
from videogen_api_gateway.shapes import generation_json, status_json, transaction_json
from videogen_common.errors import InvalidArgument
from videogen_common.wire import timestamp


def test_defaults_are_the_seeds():
    assert generation_fields({"prompt": "a fox"}, "text-to-video") == {
        "prompt": "a fox",
        "model": "t2v-14B",
        "resolution": "720p",
        "duration": 5,
    }
    assert (
        generation_fields({"prompt": "a fox", "image_url": "https://x/a.png"}, "image-to-video")[
            "model"
        ]
        == "i2v-14B"
    )


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, ["prompt"]),
        ({"prompt": 5}, ["prompt"]),
        ({"prompt": "a fox", "duration": "5"}, ["duration"]),
        ({"prompt": "a fox", "duration": True}, ["duration"]),
        ({"prompt": "a fox", "seed": 2**64}, ["seed"]),
        ({"prompt": "a fox", "image_url": "https://x/a.png"}, ["image_url"]),
        ({"prompt": 1, "resolution": 2}, ["prompt", "resolution"]),
    ],
)
def test_bad_bodies_name_every_field(body, fields):
    with pytest.raises(InvalidArgument) as caught:
        generation_fields(body, "text-to-video")
    assert [v.field for v in caught.value.violations] == fields


def test_a_body_must_be_an_object_and_text_must_be_unicode():
    with pytest.raises(InvalidArgument):
        generation_fields([], "text-to-video")
    assert is_text("a fox") and not is_text("\ud800")


def _generation(**changes) -> gpb.Generation:
    values = dict(
        id="g1",
        user_id="u1",
        model="t2v-14B",
        resolution="480p",
        prompt="a fox",
        duration_s=5,
        status=gpb.STATUS_SUCCEEDED,
        progress=100,
        price=10,
        credits_used=10,
        video_url="https://v/g1.mp4",
        created_at=timestamp(datetime(2026, 12, 1, tzinfo=UTC)),
    )
    values.update(changes)
    return gpb.Generation(**values)


def test_generations_read_as_the_seed_frontend_expects():
    shown = generation_json(_generation())
    assert (shown["status"], shown["credits_used"], shown["video_url"]) == (
        "completed",
        10,
        "https://v/g1.mp4",
    )
    assert shown["created_at"] == "2026-12-01T00:00:00Z" and shown["completed_at"] is None
    # completed only with its video: until it is stored, still processing
    assert status_json(_generation(video_url=""))["status"] == "processing"
    refused = generation_json(_generation(status=gpb.STATUS_REJECTED, credits_used=0, video_url=""))
    assert (refused["status"], refused["credits_used"]) == ("rejected", 0)


def test_transactions_name_their_kind_and_generation():
    usage = transaction_json(
        cpb.Entry(
            id=7,
            user_id="u1",
            kind=cpb.ENTRY_KIND_USAGE,
            amount=-10,
            balance_after=90,
            reference="g1",
        )
    )
    assert (usage["type"], usage["generation_id"]) == ("deduction", "g1")
    expired = transaction_json(
        cpb.Entry(id=8, kind=cpb.ENTRY_KIND_EXPIRY, amount=-5, reference="grant:3")
    )
    assert (expired["type"], expired["generation_id"]) == ("expiry", None)


def test_event_ids_are_two_positions_or_nothing():
    assert parse_event_id("12-34") == (12, 34)
    for bad in ("", "12", "b12", "1-2-3", "-1-2", "9" * 19 + "-1"):
        assert parse_event_id(bad) is None
