"""What a run found, rule by rule: counts while it runs, plain data at the end.

:class:`Outcomes` accumulates (thread-safe: schemathesis may judge responses
from worker threads); :class:`Summary` (:mod:`.results`, with the other records,
which this module re-exports) is the frozen, plain result that the terminal,
JUnit, Markdown and HTML writers read. A finding is one distinct
failure of one rule -- the same rule failing for the same reason again only
adds to its ``count`` -- with the requests that show it the first time: how to
send each again (``curl``) and the answer that was judged.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .budget import NOT_STARTED
from .results import (
    EXCERPT,
    Finding,
    Judged,
    RuleResult,
    Summary,
    judged_of,
    one_line,
    tainted_text,
    visible,
)

__all__ = [
    "EXCERPT",
    "MAX_FINDINGS",
    "MAX_MORE",
    "Finding",
    "Judged",
    "Outcomes",
    "RuleResult",
    "Summary",
    "judged_of",
    "one_line",
    "tainted_text",
    "visible",
]

#: Distinct findings kept per rule; a broken rule usually shows in many ways.
MAX_FINDINGS = 5
#: Distinct reasons past those remembered to count them; past this many a rule's count
#: of them is "more than": a server failing every answer for a new reason (a request id
#: in its code) cannot grow a long-running proxy's tally without limit.
MAX_MORE = 1000


@dataclass(slots=True)
class _Tally:
    source: str
    kind: str
    profile: str
    summary: str
    passed: int = 0
    failed: int = 0
    skipped: str | None = None
    findings: dict[str, Finding] = field(default_factory=dict)
    more: set[str] = field(default_factory=set)
    more_capped: bool = False
    tainted: int = 0
    sent: int = 0
    others: dict[str, int] = field(default_factory=dict)
    not_run: str | None = None


class Outcomes:
    """The running count of passes, failures and skips per rule."""

    def __init__(self) -> None:
        self._rules: dict[str, _Tally] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def declare(self, name: str, *, source: str, kind: str, profile: str, summary: str) -> None:
        with self._lock:
            self._rules.setdefault(name, _Tally(source, kind, profile, summary))

    def passed(self, name: str) -> None:
        with self._lock:
            self._rules[name].passed += 1

    def failed(self, name: str, finding: Finding) -> None:
        with self._lock:
            self._failed(name, finding)

    def judged(self, verdicts: Iterable[tuple[str, Finding | None]], times: int = 1) -> None:
        """One exchange's verdicts at once: the request counted, each rule passed or failed;
        ``times``: so many exchanges with these verdicts (a proxy's repeats of one answer)."""
        with self._lock:
            self.requests += times
            for name, finding in verdicts:
                if finding is None:
                    self._rules[name].passed += times
                else:
                    for _ in range(times):
                        self._failed(name, finding)

    def _failed(self, name: str, finding: Finding) -> None:
        tally = self._rules[name]
        tally.failed += 1
        if finding.reason in tally.findings:
            first = tally.findings[finding.reason]
            tally.findings[finding.reason] = dataclasses.replace(first, count=first.count + 1)
            return
        if len(tally.findings) < MAX_FINDINGS:
            tally.findings[finding.reason] = finding
        elif len(tally.more) < MAX_MORE:
            tally.more.add(finding.reason)
        elif finding.reason not in tally.more:
            tally.more_capped = True

    def skipped(self, name: str, reason: str) -> None:
        with self._lock:
            self._rules[name].skipped = reason

    def not_run(self, name: str, reason: str) -> None:
        """``name`` did not run, or not to its end, for ``reason`` (the time budget)."""
        with self._lock:
            self._rules[name].not_run = reason

    def tainted(self, name: str, *, tainted: int, sent: int, others: dict[str, int]) -> None:
        """Scenario ``name`` sent ``sent`` exchanges; ``tainted`` of them failed ``others``."""
        with self._lock:
            tally = self._rules[name]
            tally.tainted, tally.sent, tally.others = tainted, sent, dict(others)

    @property
    def stopped(self) -> bool:
        """Whether anything was stopped before its end (:meth:`not_run`)."""
        with self._lock:
            return any(t.not_run is not None for t in self._rules.values())

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def summary(
        self,
        *,
        base_url: str,
        profile: str,
        elapsed: float,
        coverage: Mapping[str, Any] | None = None,
        not_judged: tuple[tuple[str, int, str], ...] = (),
        budget: str | None = None,
    ) -> Summary:
        """The plain result; with ``budget`` (what ended the run early), a rule that judged
        nothing is "not run" for that reason rather than "not exercised"."""
        with self._lock:
            results = tuple(
                RuleResult(
                    name=name,
                    source=t.source,
                    kind=t.kind,
                    profile=t.profile,
                    summary=t.summary,
                    passed=t.passed,
                    failed=t.failed,
                    skipped=t.skipped,
                    findings=tuple(t.findings.values()),
                    more=len(t.more),
                    more_capped=t.more_capped,
                    tainted=t.tainted,
                    sent=t.sent,
                    others=tuple(sorted(t.others.items())),
                    not_run=_not_run(t, budget),
                )
                for name, t in self._rules.items()
            )
        return Summary(
            base_url=base_url,
            profile=profile,
            results=results,
            elapsed=elapsed,
            requests=self.requests,
            coverage=coverage,
            not_judged=not_judged,
            budget=budget,
        )


def _not_run(tally: _Tally, budget: str | None) -> str | None:
    """Why a rule has no verdict: as recorded, or, in a run the budget ended, none reached."""
    if tally.not_run is not None or budget is None:
        return tally.not_run
    judged = tally.passed or tally.failed or tally.skipped is not None
    return None if judged else NOT_STARTED
