"""What a run found, rule by rule: counts while it runs, plain data at the end.

:class:`Outcomes` accumulates (thread-safe: schemathesis may judge responses
from worker threads); :class:`Summary` is the frozen, plain result that the
terminal, JUnit, Markdown and HTML writers read. A finding is one distinct
failure of one rule -- the same rule failing for the same reason again only
adds to its count -- with the ``curl`` commands that reproduce it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["MAX_FINDINGS", "Finding", "Outcomes", "RuleResult", "Summary"]

#: Distinct findings kept per rule; a broken rule usually shows in many ways.
MAX_FINDINGS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    rule: str
    title: str
    reason: str
    detail: str
    curl: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleResult:
    name: str
    source: str  # "usagekit" or "schemathesis"
    kind: str  # "response", "scenario" or "generated"
    profile: str
    summary: str
    passed: int
    failed: int
    skipped: str | None  # why the rule did not run
    findings: tuple[Finding, ...]
    more: int = 0  # distinct findings beyond MAX_FINDINGS, not kept

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if self.skipped is not None:
            return "skipped"
        return "passed" if self.passed else "not exercised"


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    base_url: str
    profile: str
    results: tuple[RuleResult, ...]
    elapsed: float
    requests: int

    @property
    def ok(self) -> bool:
        return not any(result.failed for result in self.results)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for result in self.results for f in result.findings)


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
            tally = self._rules[name]
            tally.failed += 1
            if finding.reason in tally.findings:
                return
            if len(tally.findings) < MAX_FINDINGS:
                tally.findings[finding.reason] = finding
            else:
                tally.more.add(finding.reason)

    def skipped(self, name: str, reason: str) -> None:
        with self._lock:
            self._rules[name].skipped = reason

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def summary(self, *, base_url: str, profile: str, elapsed: float) -> Summary:
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
                )
                for name, t in self._rules.items()
            )
        return Summary(
            base_url=base_url,
            profile=profile,
            results=results,
            elapsed=elapsed,
            requests=self.requests,
        )
