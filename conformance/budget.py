"""The time a whole run may take (``--max-time``): one object that every part that waits asks.

Without it a server that rate-limits everything costs each request up to
``--retries`` waits of :data:`~usagekit.conformance.client.MAX_WAIT`, and a run
hours. A :class:`Budget` starts with the run; the kit's client, schemathesis'
cases and the runner ask it how long they may still take (:meth:`Budget.within`),
wait through it (:meth:`Budget.wait`: a ``Retry-After: 3600`` is waited only
until the budget ends) and stop with :class:`OutOfTime` once it is spent. What it
stopped is reported "not run: time budget", never as passed or failed: the
server did nothing wrong by being slow to a budget it was never told about.
Unbounded (``seconds`` None), it changes nothing.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .deadline import after

__all__ = ["CUT_SHORT", "NOT_STARTED", "Budget", "OutOfTime"]

#: Why a rule did not run (the reports say "not run: " and this) ...
NOT_STARTED = "time budget"
#: ... or ran only in part: what it judged before the budget ended is not a verdict.
CUT_SHORT = "time budget (cut short)"


class OutOfTime(Exception):
    """The run's time budget is spent: what was under way stops, unjudged."""


@dataclass(frozen=True, slots=True)
class Budget:
    """``seconds`` from ``started`` on ``clock`` (None: no limit)."""

    seconds: float | None = None
    started: float = 0.0
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def starting(cls, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Budget:
        """A budget of ``seconds`` from now."""
        return cls(seconds, clock(), clock)

    @property
    def bounded(self) -> bool:
        return self.seconds is not None

    def left(self) -> float:
        """Seconds left (``inf`` without a limit, never below 0)."""
        if self.seconds is None:
            return math.inf
        return max(0.0, self.started + self.seconds - self.clock())

    @property
    def spent(self) -> bool:
        return self.left() <= 0.0

    def within(self, seconds: float) -> float:
        """``seconds``, or what is left if that is less."""
        return min(seconds, self.left())

    def check(self) -> None:
        """Raise :class:`OutOfTime` once the budget is spent: nothing new starts."""
        if self.spent:
            raise OutOfTime(self.words())

    def wait(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """Sleep ``seconds``; :class:`OutOfTime` instead of waiting past the budget."""
        if seconds >= self.left():
            sleep(self.left())
            raise OutOfTime(self.words())
        sleep(seconds)

    @contextlib.contextmanager
    def at_end(self, call: Callable[[], None]) -> Iterator[None]:
        """``call`` (from another thread) when the budget ends, if the block still runs then."""
        if self.seconds is None:
            yield
            return
        with after(self.left(), call):
            yield

    def words(self) -> str:
        """What ended the run, as the reports say it."""
        return f"the time budget (--max-time {self.seconds:g} s) ran out"
