"""The records a run's verdicts end up in: each finding with the requests that show it,
each rule's result, and the :class:`Summary` every report writer reads (plain, frozen
data; :mod:`.outcomes` counts them while a run goes)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .exchange import Exchange
from .provenance import Provenance, provenance

__all__ = [
    "EXCERPT",
    "Finding",
    "Judged",
    "RuleResult",
    "Summary",
    "judged_of",
    "one_line",
    "tainted_text",
    "visible",
]

#: Bytes of a judged body a finding shows.
EXCERPT = 500
#: Characters of a finding's reason (one line) and of its detail (a diff, say) kept.
REASON_KEPT = 500
DETAIL_KEPT = 4000
#: What a report shows escaped (as Python writes it: ``\x1b``): control characters but tab
#: and line feed, lone surrogates (a ``surrogateescape`` decoding's bytes) and the
#: noncharacters U+FFFE and U+FFFF. Raw, a NUL or an ESC made the JUnit XML unreadable (no
#: XML 1.0 document holds one), an escape sequence or a carriage return reached the
#: terminal, and a surrogate could not be written as UTF-8 at all.
_ESCAPED = {
    c: repr(chr(c))[1:-1]
    for c in (*range(0x20), *range(0x7F, 0xA0), *range(0xD800, 0xE000), 0xFFFE, 0xFFFF)
    if chr(c) not in "\t\n"
}
_ONE_LINE = {**_ESCAPED, ord("\n"): "\\n"}


def visible(text: str) -> str:
    """``text`` as every report may show it: what a server wrote reaches no terminal, XML
    parser or Markdown renderer as a control character."""
    return text.translate(_ESCAPED)


def one_line(text: str) -> str:
    """:func:`visible`, and on one line: a line end in a heading or a table ends it."""
    return text.translate(_ONE_LINE)


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
            body=visible(exchange.content[:EXCERPT].decode("utf-8", "replace")),
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
    """One distinct failure of a rule. Its reason and detail are cut to REASON_KEPT and
    DETAIL_KEPT characters, saying how long they were: a server's text in them (a repr'd
    value, a JSON key) has no other bound, and a rule remembers up to a thousand reasons."""

    rule: str
    title: str
    reason: str
    detail: str
    judged: tuple[Judged, ...] = ()
    count: int = 1  # how often the rule failed for this reason

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", _cut(self.reason, REASON_KEPT))
        object.__setattr__(self, "detail", _cut(self.detail, DETAIL_KEPT))

    @property
    def curl(self) -> tuple[str, ...]:
        return tuple(j.curl for j in self.judged)


def _cut(text: str, most: int) -> str:
    """``text``, or its beginning and how long it was, in ``most`` characters (so that
    cutting it again leaves it as it is)."""
    if len(text) <= most:
        return text
    tail = f"… (cut: {len(text)} characters)"
    return text[: most - len(tail)] + tail


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
    #: Why the rule did not run, or not to its end ("time budget"): no verdict either way.
    not_run: str | None = None

    @property
    def more_text(self) -> str:
        """How many distinct findings beyond those kept, in words."""
        return f"{'more than ' if self.more_capped else ''}{self.more}"

    @property
    def status(self) -> str:
        """passed, failed, skipped, not run, not exercised -- or "tainted": a scenario that
        held, but some of whose answers broke other rules (its row must not look green)."""
        if self.failed:
            return "failed"
        if self.skipped is not None:
            return "skipped"
        if self.not_run is not None:
            return "not run"
        if self.tainted:
            return "tainted"
        return "passed" if self.passed else "not exercised"

    @property
    def status_text(self) -> str:
        """The status in words, as the reports' tables show it."""
        if self.status == "skipped":
            return f"skipped: {self.skipped}"
        if self.status == "not run":
            return f"not run: {self.not_run}"
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
    #: The --min-coverage cells the run never exercised: it conforms, yet does not pass.
    uncovered: tuple[str, ...] = ()
    #: What ended the run before it judged everything (the time budget's words), if anything
    #: did: the rules it stopped are "not run", and the run exits 3 unless a rule failed.
    budget: str | None = None

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
    def failed(self) -> bool:
        """Whether any rule failed: the server does not conform, however the run ended."""
        return any(result.failed for result in self.results)

    @property
    def ok(self) -> bool:
        """Whether the run conforms: it judged everything, and nothing failed."""
        return self.error is None and self.budget is None and not self.failed

    @property
    def not_run(self) -> tuple[str, ...]:
        """The rules the time budget stopped before they ran, or before they ended."""
        return tuple(result.name for result in self.results if result.status == "not run")

    @property
    def passed(self) -> bool:
        """Whether the run exits 0: it conforms and exercised every --min-coverage cell."""
        return self.ok and not self.uncovered

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for result in self.results for f in result.findings)
