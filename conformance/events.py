"""What the runner tells its subscribers, in order, as a run goes.

The runner emits events; consumers (terminal progress, JUnit, Markdown and
HTML reports) subscribe through one small interface -- ``start``, ``handle``,
``shutdown`` -- and never reach back into the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .outcomes import Summary

__all__ = [
    "Event",
    "Handler",
    "RuleChecked",
    "RunFinished",
    "RunStarted",
    "StageFinished",
    "StageStarted",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted:
    base_url: str
    profile: str
    rules: int
    skipped: tuple[tuple[str, str], ...]  # (rule, why)


@dataclass(frozen=True, slots=True, kw_only=True)
class StageStarted:
    name: str
    total: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleChecked:
    """A scenario rule ran (response rules run too often to report one by one)."""

    stage: str
    name: str
    ok: bool
    reason: str | None
    ran: bool = True  # False: the time budget stopped it (no verdict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StageFinished:
    name: str
    elapsed: float
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished:
    summary: Summary


Event = RunStarted | StageStarted | RuleChecked | StageFinished | RunFinished


class Handler(Protocol):
    def start(self, event: RunStarted) -> None: ...

    def handle(self, event: Event) -> None: ...

    def shutdown(self) -> None: ...
