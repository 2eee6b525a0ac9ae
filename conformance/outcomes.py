"""What a run found, rule by rule: counts while it runs, plain data at the end.

:class:`Outcomes` accumulates (thread-safe: schemathesis may judge responses
from worker threads); :class:`Summary` is the frozen, plain result that the
terminal, JUnit, Markdown and HTML writers read. A finding is one distinct
failure of one rule -- the same rule failing for the same reason again only
adds to its ``count`` -- with the requests that show it the first time: how to
send each again (``curl``) and the answer that was judged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .exchange import Exchange
from .provenance import Provenance, provenance

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
    "tainted_text",
]

#: Distinct findings kept per rule; a broken rule usually shows in many ways.
MAX_FINDINGS = 5
#: Distinct reasons past those remembered to count them; past this many a rule's count
#: of them is "more than": a server failing every answer for a new reason (a request id
#: in its code) cannot grow a long-running proxy's tally without limit.
MAX_MORE = 1000
#: Bytes of a judged body a finding shows.
EXCERPT = 500
#: What a body's excerpt shows escaped (as Python writes it: ``\x1b``): control characters
#: but tab and line ends, and the noncharacters U+FFFE and U+FFFF. Raw, a NUL made the
#: JUnit XML unreadable (no XML 1.0 document holds one) and an escape sequence reached
#: the terminal.
_ESCAPED = {
    c: repr(chr(c))[1:-1]
    for c in (*range(0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF)
    if chr(c) not in "\t\n\r"
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Judged:
    """One request of a finding: how to send it again, and what it got."""

    curl: str
    status: int | None  # None: no answer came
    body: str  # the first EXCERPT bytes of the body, decoded leniently, controls escaped
    size: int  # bytes in the whole body
    digest: str  # SHA-256 of the whole body, so that a replay can be compared exactly

    @classmethod
    def of(cls, exchange: Exchange) -> Judged:
        answered = exchange.status > 0
        return cls(
            curl=exchange.curl(),
            status=exchange.status if answered else None,
            body=exchange.content[:EXCERPT].decode("utf-8", "replace").translate(_ESCAPED),
            size=len(exchange.content),
            digest=hashlib.sha256(exchange.content).hexdigest(),
        )

    @property
    def answer(self) -> str:
        """The answer in one line: status, size, and where the body was cut."""
        if self.status is None:
            return "no answer"
        if not self.size:
            return f"{self.status}, empty body"
        cut = f", first {EXCERPT} shown" if self.size > EXCERPT else ""
        return f"{self.status}, {self.size} bytes{cut}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    rule: str
    title: str
    reason: str
    detail: str
    judged: tuple[Judged, ...] = ()
    count: int = 1  # how often the rule failed for this reason

    @property
    def curl(self) -> tuple[str, ...]:
        return tuple(j.curl for j in self.judged)


def judged_of(exchanges: tuple[Exchange, ...]) -> tuple[Judged, ...]:
    """The requests a finding shows, each distinct request once, in order."""
    seen: dict[str, Judged] = {}
    for exchange in exchanges:
        judged = Judged.of(exchange)
        seen.setdefault(judged.curl, judged)
    return tuple(seen.values())


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
    more_capped: bool = False  # and more than ``more`` of them (MAX_MORE)
    #: A scenario's exchanges that failed other rules, of how many it sent,
    #: and those rules with how many of its exchanges each failed.
    tainted: int = 0
    sent: int = 0
    others: tuple[tuple[str, int], ...] = ()

    @property
    def more_text(self) -> str:
        """How many distinct findings beyond those kept, in words."""
        return f"{'more than ' if self.more_capped else ''}{self.more}"

    @property
    def status(self) -> str:
        """passed, failed, skipped, not exercised -- or "tainted": a scenario that held,
        but some of whose answers broke other rules (its row must not look green)."""
        if self.failed:
            return "failed"
        if self.skipped is not None:
            return "skipped"
        if self.tainted:
            return "tainted"
        return "passed" if self.passed else "not exercised"

    @property
    def status_text(self) -> str:
        """The status in words, as the reports' tables show it."""
        if self.status == "skipped":
            return f"skipped: {self.skipped}"
        if self.status == "tainted":
            return tainted_text(self.tainted, self.sent, [name for name, _ in self.others])
        return self.status


def tainted_text(tainted: int, sent: int, rules: Iterable[str]) -> str:
    """What a scenario that held but sent answers that broke other rules says about it."""
    return f"passed, but {tainted} of its {sent} exchanges failed {', '.join(rules)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    base_url: str
    profile: str
    results: tuple[RuleResult, ...]
    elapsed: float
    requests: int
    #: The coverage ledger of the run (``Ledger.to_dict()``), when one was kept.
    coverage: Mapping[str, Any] | None = None
    #: Why the run could not judge the server at all (it exits 2), if it could not.
    error: str | None = None
    #: What kind of trouble that was: "unreachable", "credentials refused", "bad usage".
    error_kind: str | None = None
    #: What judged the run; reports print it. It is this process's kit, always.
    provenance: Provenance = field(default_factory=provenance)
    #: Exchanges of the endpoint seen but not judged: (why, how many, the first one's curl).
    not_judged: tuple[tuple[str, int, str], ...] = ()

    @classmethod
    def aborted(cls, *, base_url: str, profile: str, kind: str, error: str) -> Summary:
        """The summary of a run that could not start: no rule ran, one error says why."""
        return cls(
            base_url=base_url,
            profile=profile,
            results=(),
            elapsed=0.0,
            requests=0,
            error=error,
            error_kind=kind,
        )

    @property
    def ok(self) -> bool:
        return self.error is None and not any(result.failed for result in self.results)

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
    more_capped: bool = False
    tainted: int = 0
    sent: int = 0
    others: dict[str, int] = field(default_factory=dict)


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

    def tainted(self, name: str, *, tainted: int, sent: int, others: dict[str, int]) -> None:
        """Scenario ``name`` sent ``sent`` exchanges; ``tainted`` of them failed ``others``."""
        with self._lock:
            tally = self._rules[name]
            tally.tainted, tally.sent, tally.others = tainted, sent, dict(others)

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
    ) -> Summary:
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
        )
