"""How provider news changes a generation. Standard library only."""
from __future__ import annotations

from dataclasses import dataclass

from .records import Generation, ProviderNews
from .rules import PROVIDER_STATUS, Status, may_move, progress_from_logs

LOGS_KEPT_CHARS = 4000


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
    goes back, progress never goes down, and logs are taken only when they grew.
    """
    new_status = PROVIDER_STATUS.get(news.status)
    if new_status is None or gen.status.terminal:
        return None
    if new_status != gen.status and not may_move(gen.status, new_status):
        return None
    logs = news.logs[-LOGS_KEPT_CHARS:] if len(news.logs) > len(gen.logs) else gen.logs
    progress = progress_from_logs(news.logs, gen.progress, new_status)
    error = None
    if new_status is Status.FAILED:
        error = news.error or ("aborted by the provider" if news.status == "aborted"
                               else "the provider reported a failure")
    output_url = news.output_url if new_status is Status.SUCCEEDED else None
    if new_status is Status.SUCCEEDED and not output_url:
        new_status, error = Status.FAILED, "the provider succeeded without an output"
        progress = gen.progress
    changes = Changes(new_status, progress, logs, output_url, error)
    unchanged = (new_status == gen.status and progress == gen.progress and logs == gen.logs)
    return None if unchanged else changes
