"""The generation, its state machine and what each piece of news does to it. Pure rules:
standard library only, unit-tested without a database. The database trigger (migrations
g0001 and g0004) refuses the same illegal moves, as a backstop."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from videogen_common.contract import OPEN_GENERATION_STATUSES

LOGS_KEPT_CHARS = 4000
# Polls in a row answered "not found" before the job counts as lost by the provider.
MISSING_POLLS_MAX = 5
# Copies of an output tried before it is given up as lost (the provider's URL is kept).
COPY_ATTEMPTS_MAX = 5
# Without any answer from the provider, a running job is timed out only this many times
# past the maximum age: a job the provider may still run is not given up lightly.
UNREACHABLE_AGE_FACTOR = 2


class Status(str, enum.Enum):
    QUEUED = "queued"
    STARTING = "starting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"
    REJECTED = "rejected"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def refundable(self) -> bool:
        """Terminal states whose charge goes back to the user."""
        return self in (Status.FAILED, Status.CANCELED, Status.TIMED_OUT)


OPEN = frozenset(Status(s) for s in OPEN_GENERATION_STATUSES)
TERMINAL = frozenset(set(Status) - OPEN)
_RANK = {Status.QUEUED: 0, Status.STARTING: 1, Status.PROCESSING: 2}


class Charge(str, enum.Enum):
    """The generation's money. On holds: pending (not known to be reserved) -> reserved
    | none; reserved -> captured (delivered) | released (not). Rows charged before holds
    existed: charged -> refunded. A hold that timed out under a delivered video is
    charged instead (reserved -> charged)."""

    PENDING = "pending"
    RESERVED = "reserved"
    CAPTURED = "captured"
    RELEASED = "released"
    CHARGED = "charged"
    NONE = "none"
    REFUNDED = "refunded"

    @property
    def paid(self) -> bool:
        """The user pays for the generation (or its credits are held for it)."""
        return self in (Charge.RESERVED, Charge.CAPTURED, Charge.CHARGED, Charge.PENDING)

    @property
    def given_back(self) -> bool:
        return self in (Charge.RELEASED, Charge.REFUNDED)


class Settlement(enum.Enum):
    """What a finished generation still owes the ledger."""

    NOTHING = "nothing"
    ASK_AGAIN = "ask_again"  # the hold's fate is unknown: the same keyed Reserve tells
    CAPTURE = "capture"  # delivered: the hold becomes its usage
    RELEASE = "release"  # not delivered: the hold goes back
    REFUND = "refund"  # charged before holds existed, not delivered


class Step(str, enum.Enum):
    """Kinds of unfinished work recovery looks for, each claimed on its own."""

    SETTLE = "settle"  # finished, its hold (or old-style charge) not settled
    CHARGE = "charge"  # queued, charge outcome unknown
    SUBMIT = "submit"  # charged, no prediction stored
    POLL = "poll"  # submitted, no news for a while (or too old)
    COPY = "copy"  # succeeded, our copy of the video not made yet


@dataclass(frozen=True)
class Generation:
    id: str
    user_id: str
    model: str
    resolution: str
    prompt: str
    negative_prompt: str
    duration_s: int
    seed: int | None
    image_url: str | None
    provider_model: str
    provider_input: dict
    price: int
    status: Status
    progress: int
    charge: Charge
    prediction_id: str | None
    output_url: str | None
    video_url: str | None
    error: str | None
    logs: str
    retry_of: str | None
    created_at: datetime
    completed_at: datetime | None
    seq: int
    fingerprint: str = ""
    copy_lost: bool = False
    provider_missing: int = 0


def _text(value: object, length_max: int) -> str:
    """Provider text as PostgreSQL can store it: no NUL characters, bounded."""
    return str(value).replace("\x00", "")[:length_max]


@dataclass(frozen=True)
class ProviderNews:
    """What a webhook or a poll says about a prediction, cleaned for storage."""

    prediction_id: str
    status: str
    logs: str
    output_url: str | None
    error: str | None

    @classmethod
    def from_json(cls, data: dict) -> ProviderNews:
        output = data.get("output")
        if isinstance(output, list):
            output = output[-1] if output else None
        if not isinstance(output, str) or not output or "\x00" in output:
            output = None
        error = data.get("error")
        return cls(
            prediction_id=_text(data.get("id") or "", 128),
            status=_text(data.get("status") or "", 32),
            logs=_text(data.get("logs") or "", 1_000_000),
            output_url=output[:4096] if output else None,
            error=_text(error, 2000) if error else None,
        )


# Replicate's statuses; "aborted" exists in the API though the client's model omits it.
PROVIDER_STATUS = {
    "starting": Status.STARTING,
    "processing": Status.PROCESSING,
    "succeeded": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "canceled": Status.CANCELED,
    "aborted": Status.FAILED,
}


def may_move(current: Status, new: Status) -> bool:
    """Forward only: queued → starting → processing → one terminal state, never back."""
    if current.terminal:
        return False
    if new.terminal:
        return True
    return _RANK[new] > _RANK[current]


_PERCENT = re.compile(r"(\d{1,3})%\|")


def progress_from_logs(logs: str, previous: int, status: Status) -> int:
    """The last tqdm percentage in the logs; never backwards; 100 only on success."""
    if status is Status.SUCCEEDED:
        return 100
    found = [int(p) for p in _PERCENT.findall(logs or "") if int(p) <= 100]
    latest = min(found[-1], 99) if found else 0
    return max(previous, latest)


@dataclass(frozen=True)
class Changes:
    status: Status
    progress: int
    logs: str
    output_url: str | None
    error: str | None

    @property
    def terminal(self) -> bool:
        return self.status.terminal


def changes_from_news(gen: Generation, news: ProviderNews) -> Changes | None:
    """The generation's next state, or None when the news is stale, duplicate or unknown.

    Late and reordered updates are harmless: a terminal state never changes, status never
    goes back, progress never goes down, and logs are taken only when they grew. Only
    news of the stored prediction counts (the caller checks the id).
    """
    current = Status(gen.status)
    new_status = PROVIDER_STATUS.get(news.status)
    if new_status is None or current.terminal:
        return None
    if new_status != current and not may_move(current, new_status):
        return None
    logs = news.logs[-LOGS_KEPT_CHARS:] if len(news.logs) > len(gen.logs) else gen.logs
    progress = progress_from_logs(news.logs, gen.progress, new_status)
    error = None
    if new_status is Status.FAILED:
        error = news.error or (
            "aborted by the provider"
            if news.status == "aborted"
            else "the provider reported a failure"
        )
    output_url = news.output_url if new_status is Status.SUCCEEDED else None
    if new_status is Status.SUCCEEDED and not output_url:
        new_status, error = Status.FAILED, "the provider succeeded without an output"
        progress = gen.progress
    changes = Changes(new_status, progress, logs, output_url, error)
    unchanged = new_status == current and progress == gen.progress and logs == gen.logs
    return None if unchanged else changes


class PollVerdict(enum.Enum):
    APPLY = "apply"  # the news moves the generation on
    BACK_OFF = "back_off"  # still running, or no answer: ask again later
    TIME_OUT = "time_out"  # too old and not finished: cancel, time out, refund
    LOST = "lost"  # the provider no longer knows the job: fail, refund


def judge_poll(
    gen: Generation, news: ProviderNews | None, *, missing: bool, age: timedelta, age_max: timedelta
) -> PollVerdict:
    """What a poll's answer means. The provider is always asked first: a job that
    finished while its webhooks were lost is delivered, never timed out by age alone.

    ``news`` is None when the provider could not be asked (or answered 404: ``missing``).
    """
    if missing:
        lost = gen.provider_missing + 1 >= MISSING_POLLS_MAX
        return PollVerdict.LOST if lost else PollVerdict.BACK_OFF
    if news is None:
        unreachable_too_long = age > age_max * UNREACHABLE_AGE_FACTOR
        return PollVerdict.TIME_OUT if unreachable_too_long else PollVerdict.BACK_OFF
    changes = changes_from_news(gen, news)
    if changes is not None and changes.terminal:
        return PollVerdict.APPLY
    if age > age_max:
        return PollVerdict.TIME_OUT
    return PollVerdict.APPLY if changes is not None else PollVerdict.BACK_OFF


def settlement_due(gen: Generation) -> Settlement:
    status, charge = Status(gen.status), Charge(gen.charge)
    if not (status.refundable or status is Status.SUCCEEDED):
        return Settlement.NOTHING
    if charge is Charge.PENDING:
        return Settlement.ASK_AGAIN
    if charge is Charge.RESERVED:
        return Settlement.CAPTURE if status is Status.SUCCEEDED else Settlement.RELEASE
    if charge is Charge.CHARGED and status.refundable:
        return Settlement.REFUND
    return Settlement.NOTHING


def owes_copy(gen: Generation) -> bool:
    return (
        Status(gen.status) is Status.SUCCEEDED
        and gen.video_url is None
        and bool(gen.output_url)
        and not gen.copy_lost
    )
