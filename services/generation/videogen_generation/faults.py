"""Named points in the flow where tests can make the process die, as a crash would."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

POINTS = ("after_insert", "after_reserve", "after_submit", "after_store", "after_terminal")


class InjectedCrash(Exception):
    """Raised instead of exiting when tests run the service in-process. The flow catches
    only its own named errors, so nothing after the fault point runs, as in a crash."""


class Faults:
    def __init__(self, points: frozenset[str] = frozenset(), exit_process: bool = False) -> None:
        unknown = points - set(POINTS)
        if unknown:
            raise ValueError(f"unknown fault points: {', '.join(sorted(unknown))}")
        self.points = points
        self.exit_process = exit_process

    def hit(self, point: str) -> None:
        assert point in POINTS, point
        if point not in self.points:
            return
        log.warning("fault injected", extra={"point": point})
        if self.exit_process:
            os._exit(70)
        raise InjectedCrash(point)
