"""The running tally of a judge of traffic: each distinct violation, and what went unjudged.

:class:`Traffic` judges; this counts what it found, once per (rule, reason) with
the first exchange's curl, and the exchanges no rule could judge, once per
reason -- each bounded, so that a long proxy run against a backend that puts a
request id in its messages cannot grow without limit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from .outcomes import Finding

__all__ = ["DISTINCT_KEPT", "NOT_JUDGED_KEPT", "OTHER_REASONS", "ViolationTally"]

#: Distinct (rule, reason) pairs tallied one by one; later ones count under OTHER_REASONS.
DISTINCT_KEPT = 1000
OTHER_REASONS = "(other reasons, beyond the first 1000 distinct ones)"
#: Distinct reasons exchanges were not judged for, tallied; later ones count as one more.
NOT_JUDGED_KEPT = 50


@dataclass(slots=True)
class _Seen:
    count: int
    curl: str


class ViolationTally:
    """Counts of violations and of unjudged exchanges; safe to share between threads."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._not_judged: dict[str, list[Any]] = {}  # why: [how many, the first one's curl]
        self._lock = threading.Lock()

    def count(self, finding: Finding) -> int:
        """Count one violation; how many times its (rule, reason) has been seen."""
        key = (finding.rule, finding.reason)
        with self._lock:
            if key not in self._seen and len(self._seen) >= DISTINCT_KEPT:
                key = (finding.rule, OTHER_REASONS)  # a long run must not grow without bound
            seen = self._seen.get(key)
            if seen is None:
                seen = self._seen[key] = _Seen(0, finding.curl[0] if finding.curl else "")
            seen.count += 1
            return seen.count

    def not_judged(self, why: str, curl: str) -> None:
        """An exchange of the endpoint seen but not judged, and why."""
        with self._lock:
            if why not in self._not_judged and len(self._not_judged) >= NOT_JUDGED_KEPT:
                why = OTHER_REASONS
            self._not_judged.setdefault(why, [0, curl])[0] += 1

    def violations(self) -> list[dict[str, Any]]:
        """``[{rule, reason, count, curl}]``, in the order first seen."""
        with self._lock:
            return [
                {"rule": rule, "reason": reason, "count": seen.count, "curl": seen.curl}
                for (rule, reason), seen in self._seen.items()
            ]

    def unjudged(self) -> tuple[tuple[str, int, str], ...]:
        """``(why, count, curl)`` of the exchanges no rule could judge."""
        with self._lock:
            return tuple((why, n, curl) for why, (n, curl) in self._not_judged.items())
