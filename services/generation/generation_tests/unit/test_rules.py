"""Catalog, validation, state machine and progress: plain rules, no I/O."""

from datetime import UTC, datetime

import pytest

from videogen_common.errors import InvalidArgument
from videogen_generation.catalog import Catalog, frames_for, provider_input
from videogen_generation.domain import (
    Charge,
    Generation,
    ProviderNews,
    Status,
    changes_from_news,
    may_move,
    progress_from_logs,
)
from videogen_generation.rules import Request, check_request, image_type

CATALOG = Catalog()
USER = "6f1c1d3e-8a55-4d6b-9d55-2f1b8e0c4a11"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def request(**changes) -> Request:
    values = dict(
        user_id=USER,
        model="t2v-14B",
        resolution="720p",
        prompt="a red fox running through snow",
        negative_prompt="",
        duration_s=5,
        seed=None,
        image_url=None,
        image_bytes=None,
    )
    values.update(changes)
    return Request(**values)


@pytest.mark.parametrize(
    "model, resolution, price",
    [
        ("t2v-14B", "480p", 10),
        ("t2v-14B", "720p", 20),
        ("t2v-1.3B", "480p", 5),
        ("i2v-14B", "480p", 15),
        ("i2v-14B", "720p", 25),
    ],
)
def test_prices_are_the_seed_systems(model, resolution, price):
    image = {"image_bytes": PNG} if model.startswith("i2v") else {}
    offer, _ = check_request(request(model=model, resolution=resolution, **image), CATALOG)
    assert offer.price == price


@pytest.mark.parametrize(
    "model, resolution, field",
    [
        ("t2v-1.3B", "720p", "resolution"),
        ("t2v-14B", "1080p", "resolution"),
        ("t2v-99B", "480p", "model"),
        ("", "", "model"),
    ],
)
def test_other_combinations_are_refused_not_priced(model, resolution, field):
    with pytest.raises(InvalidArgument) as caught:
        check_request(request(model=model, resolution=resolution), CATALOG)
    assert [v.field for v in caught.value.violations] == [field]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"prompt": "too short"}, "prompt"),
        ({"prompt": "   padded   "}, "prompt"),
        ({"prompt": "x" * 501}, "prompt"),
        ({"negative_prompt": "n" * 201}, "negative_prompt"),
        ({"duration_s": 0}, "duration"),
        ({"duration_s": 11}, "duration"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"),
        ({"image_url": "https://example.com/a.png"}, "image"),
        ({"model": "i2v-14B"}, "image"),
        ({"model": "i2v-14B", "image_url": "http://example.com/a.png"}, "image_url"),
        ({"model": "i2v-14B", "image_url": "ftp://example.com/a.png"}, "image_url"),
        ({"model": "i2v-14B", "image_bytes": b"GIF89a" + b"\0" * 20}, "image"),
        ({"model": "i2v-14B", "image_bytes": PNG + b"\0" * (10 * 1024 * 1024)}, "image"),
    ],
)
def test_each_refusal_names_its_field(changes, field):
    with pytest.raises(InvalidArgument) as caught:
        check_request(request(**changes), CATALOG)
    assert field in [v.field for v in caught.value.violations]


def test_prompt_is_trimmed_and_then_measured():
    _, trimmed = check_request(request(prompt="  a red fox running  "), CATALOG)
    assert trimmed.prompt == "a red fox running"


@pytest.mark.parametrize(
    "data, kind",
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 8, "image/jpeg"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"GIF89a", None),
        (b"", None),
    ],
)
def test_image_type_by_content(data, kind):
    assert image_type(data) == kind


def test_duration_maps_to_frames_within_the_models_limits():
    t2v = CATALOG.find("t2v-14B", "480p")
    small = CATALOG.find("t2v-1.3B", "480p")
    assert (frames_for(t2v, 1), frames_for(t2v, 5), frames_for(t2v, 10)) == (81, 81, 100)
    assert frames_for(small, 1) == 17 and frames_for(small, 10) == 81
    assert all((frames_for(small, d) - 1) % 4 == 0 for d in range(1, 11))
    values = provider_input(small, "p" * 10, "blurry", 3, 42, None)
    assert values == {
        "prompt": "p" * 10,
        "frame_num": 45,
        "aspect_ratio": "16:9",
        "negative_prompt": "blurry",
        "seed": 42,
    }


def test_status_only_moves_forward():
    assert may_move(Status.QUEUED, Status.PROCESSING)
    assert not may_move(Status.PROCESSING, Status.STARTING)
    assert not may_move(Status.SUCCEEDED, Status.FAILED)
    assert may_move(Status.STARTING, Status.CANCELED)


def test_progress_comes_from_tqdm_logs_and_never_goes_back():
    logs = " 10%|█         | 8/81\n 45%|████▌     | 36/81\n"
    assert progress_from_logs(logs, 0, Status.PROCESSING) == 45
    assert progress_from_logs(" 20%|██", 45, Status.PROCESSING) == 45
    assert progress_from_logs("100%|██████████| 81/81", 45, Status.PROCESSING) == 99
    assert progress_from_logs("", 45, Status.SUCCEEDED) == 100


def generation(status=Status.STARTING, progress=0, logs="") -> Generation:
    return Generation(
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
        status,
        progress,
        Charge.CHARGED,
        "p1",
        None,
        None,
        None,
        logs,
        None,
        datetime.now(UTC),
        None,
        1,
    )


def news(status, logs="", output=None, error=None) -> ProviderNews:
    return ProviderNews.from_json(
        {"id": "p1", "status": status, "logs": logs, "output": output, "error": error}
    )


def test_late_duplicate_and_reordered_news_is_harmless():
    done = generation(Status.SUCCEEDED, 100)
    assert changes_from_news(done, news("processing", "50%|")) is None
    assert changes_from_news(done, news("failed")) is None
    running = generation(Status.PROCESSING, 40, "40%|")
    assert changes_from_news(running, news("starting")) is None
    assert changes_from_news(running, news("processing", "40%|")) is None
    assert changes_from_news(running, news("weird")) is None


def test_news_moves_a_generation_forward():
    changes = changes_from_news(generation(), news("processing", " 30%|███"))
    assert (changes.status, changes.progress) == (Status.PROCESSING, 30)
    done = changes_from_news(generation(), news("succeeded", "", "https://x/out.mp4"))
    assert (done.status, done.progress, done.output_url) == (
        Status.SUCCEEDED,
        100,
        "https://x/out.mp4",
    )
    aborted = changes_from_news(generation(), news("aborted"))
    assert (aborted.status, aborted.error) == (Status.FAILED, "aborted by the provider")
    empty = changes_from_news(generation(), news("succeeded"))
    assert empty.status is Status.FAILED
