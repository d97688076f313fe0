"""JSON logs on stderr. Callers log ids and outcomes, never tokens or bodies."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from . import request_id  # noqa: F401  (every record gets its request_id)


def configure_logging(service: str, level: str = "INFO", worker: int | None = None) -> None:
    """``worker``: this process's number among the service's *_WORKERS, on every record."""
    fields: dict[str, object] = {"service": service}
    if worker is not None:
        fields["worker"] = worker
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "asctime": "time"},
            static_fields=fields,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
