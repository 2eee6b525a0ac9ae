"""Judging traffic the kit did not send: a proxy's live exchanges and a HAR's recorded ones.

:class:`Traffic` is the one judge behind ``usagekit proxy`` and ``usagekit
check --replay``: each exchange becomes an :class:`Exchange`, is read once
(:class:`ExchangeView`) and judged by every single-exchange rule the run's
profile selects (:func:`judging.judge`); verdicts go to the same
:class:`Outcomes` as a ``check`` run's, so the same report writers serve all
three, and every exchange is classified in the coverage ledger.

The kit knows nobody's key here: a request that carried one is judged as
``KeyRole.TRAFFIC`` -- when the upstream answered 200, the key could read the
account, and the answer is held to the reference for that account.

An answer seen before -- the same request, key or none, status, content type
and coding and body bytes -- is not judged again: its verdicts are remembered (up to
:data:`VERDICTS_KEPT` answers and :data:`VERDICT_BYTES` of bodies), and a
repeat costs a dictionary look-up and one comparison of bytes. A repeat whose
rules all held is counted on its remembered verdicts (``repeats``) and added to
the outcomes and the ledger when anyone reads them (:meth:`Traffic.summary`,
:meth:`Traffic.violations`, :attr:`Traffic.ledger`) or the verdicts are
forgotten: counting each at once, rule by rule and cell by cell, was some 7% of
the proxy's CPU per repeated answer.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from usagekit.mock.core.dataset import Dataset
from usagekit.mock.core.ledger import Ledger

from .codings import not_decodable, sent_accept_encoding
from .config import KitConfig
from .coverage import cells_of, contract_ledger, covered
from .exchange import Exchange
from .har import Recorded
from .judging import declare_rules, judge
from .observed import OPERATION, exchange_of, key_sent
from .oracle import Oracle
from .outcomes import Finding, Outcomes, Summary, judged_of
from .registry import RuleKind
from .rules import RULES
from .view import ExchangeView
from .violations import ViolationTally

__all__ = ["Traffic", "Violation"]

#: Verdicts remembered for answers seen again (a dashboard asks the same things over and over).
VERDICTS_KEPT = 1024
#: ... and at most this many bytes of the bodies they were given for (compared on a repeat).
VERDICT_BYTES = 64 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One rule one exchange broke, and why."""

    rule: str
    reason: str


@dataclass(slots=True, eq=False)
class _Verdicts:
    """What the rules found in one exchange, and the coverage cells it exercised."""

    content: bytes  # the body judged: a repeat is told by its bytes, not by a hash
    findings: tuple[tuple[str, Finding | None], ...]  # (rule, None when it holds)
    cells: tuple[str, ...] | None
    #: Whether every rule held: such an answer's repeats are counted in ``repeats``.
    clean: bool = False
    #: Repeats not yet added to the outcomes and the ledger (``Traffic._settle``).
    repeats: int = 0
    #: Why no rule judged it (a coding the request accepted and the kit does not decode).
    unjudged: str = ""


class Traffic:
    """Judges exchanges one by one and keeps the tally, the outcomes and the coverage."""

    def __init__(
        self,
        config: KitConfig,
        dataset: Dataset | None = None,
        *,
        on_violation: Callable[[Finding, int], None] | None = None,
    ) -> None:
        self.config = config
        self.oracle = Oracle(config, dataset)
        self._ledger = contract_ledger()
        self.outcomes = Outcomes()
        self.on_violation = on_violation
        self.started = time.perf_counter()
        selected, skipped = RULES.select(config)
        self.rules = [r for r in selected if r.kind is RuleKind.RESPONSE]
        declare_rules(self.outcomes, skipped, (RuleKind.RESPONSE,))
        self.tally = ViolationTally()
        self._verdicts: OrderedDict[Hashable, _Verdicts] = OrderedDict()
        self._kept = 0  # bytes of the remembered bodies
        self._lock = threading.Lock()

    @staticmethod
    def covers(method: str, path: str) -> bool:
        """Whether a request is one of the endpoint's, which the rules judge."""
        return method == "GET" and OPERATION.search(path) is not None

    def judge(self, recorded: Recorded, *, base_url: str | None = None) -> list[Violation]:
        """Every selected single-exchange rule on one exchange; the rules it broke.
        An exchange whose answer cannot be judged (``recorded.unjudged``) is counted as
        such, with its curl, and judged by no rule."""
        if recorded.unjudged:
            self.not_judged(recorded.unjudged, exchange_of(recorded, base_url).curl())
            return []
        # The rules read the request, whether it carried a key, the status, the content
        # type and coding and the body, nothing else: an answer seen before is judged as
        # it was then.
        request = (
            recorded.method,
            recorded.url,
            base_url,
            key_sent(*recorded.values("x-api-key")),
            recorded.status,
            *(
                next((v for k, v in recorded.response_headers if k.lower() == name), None)
                for name in ("content-type", "content-encoding")
            ),
            recorded.header("accept-encoding"),
            recorded.undecoded,
        )
        return self.judge_answer(request, recorded.content, lambda: exchange_of(recorded, base_url))

    def judge_answer(
        self, request: Hashable, content: bytes | bytearray, exchange: Callable[[], Exchange]
    ) -> list[Violation]:
        """:meth:`judge` for a caller that builds the exchange only when it must.

        ``request`` names everything the rules read of the exchange but its body
        ``content`` (see :meth:`judge`'s; the proxy's is the buffer it read it into);
        ``exchange()`` is called only for an answer not judged before (or not judged at all).
        """
        verdicts = self._remembered(request, content)
        if verdicts is None:
            verdicts = self._judged(exchange(), bytes(content))
            self._remember(request, verdicts)
        elif verdicts.clean:
            return []  # counted in verdicts.repeats
        if verdicts.unjudged:  # rare: its exchange is built again for its curl
            self.not_judged(verdicts.unjudged, exchange().curl())
            return []
        self.outcomes.judged(verdicts.findings)
        violations = []
        for _, finding in verdicts.findings:
            if finding is not None:
                violations.append(Violation(rule=finding.rule, reason=finding.reason))
                self._count(finding)
        if verdicts.cells is not None:
            self._ledger.record(verdicts.cells)
        return violations

    def _remembered(self, request: Hashable, content: bytes | bytearray) -> _Verdicts | None:
        """The verdicts of an answer seen before, a clean one's repeat counted."""
        with self._lock:
            verdicts = self._verdicts.get(request)
            if verdicts is None or verdicts.content != content:
                return None
            self._verdicts.move_to_end(request)
            verdicts.repeats += verdicts.clean
            return verdicts

    def _remember(self, request: Hashable, verdicts: _Verdicts) -> None:
        if len(verdicts.content) > VERDICT_BYTES // 4:
            return  # judged every time rather than crowding out the rest
        forgotten = []
        with self._lock:
            old = self._verdicts.pop(request, None)
            if old is not None:
                self._kept -= len(old.content)
                forgotten.append(old)
            self._verdicts[request] = verdicts
            self._kept += len(verdicts.content)
            while len(self._verdicts) > VERDICTS_KEPT or self._kept > VERDICT_BYTES:
                _, dropped = self._verdicts.popitem(last=False)
                self._kept -= len(dropped.content)
                forgotten.append(dropped)
            self._count_repeats(forgotten)

    def _settle(self) -> None:
        """Add the repeats counted on the remembered verdicts to the outcomes and the ledger."""
        with self._lock:
            self._count_repeats(self._verdicts.values())

    def _count_repeats(self, remembered: Iterable[_Verdicts]) -> None:
        # Under self._lock, so that no repeat is counted twice or lost between two readers.
        for verdicts in remembered:
            times, verdicts.repeats = verdicts.repeats, 0
            if not times:
                continue
            self.outcomes.judged(verdicts.findings, times)
            if verdicts.cells is not None:
                cells = Counter(verdicts.cells)
                self._ledger.add({cell: n * times for cell, n in cells.items()}, times)

    @property
    def ledger(self) -> Ledger:
        """The coverage ledger, with every exchange judged so far counted in it."""
        self._settle()
        return self._ledger

    def _judged(self, exchange: Exchange, content: bytes) -> _Verdicts:
        if exchange.undecoded:  # its bytes are not the answer when the kit cannot decode them
            why = not_decodable(
                exchange.headers.get("content-encoding", ""),
                sent_accept_encoding(exchange.sent_headers),
                exchange.undecoded,
            )
            if why:
                return _Verdicts(content=content, findings=(), cells=None, unjudged=why)
        view = ExchangeView(exchange, self.oracle)
        findings: list[tuple[str, Finding | None]] = []
        clean = True
        for judged in judge(view, self.rules):
            failure = judged.failure
            finding = None
            if failure is not None:
                clean = False
                finding = Finding(
                    rule=judged.rule.name,
                    title=failure.kind_title,
                    reason=failure.reason,
                    detail=failure.detail,
                    judged=judged_of(failure.exchanges or (exchange,)),
                )
            findings.append((judged.rule.name, finding))
        return _Verdicts(
            content=content,
            findings=tuple(findings),
            cells=cells_of(view),
            clean=clean,
        )

    def _count(self, finding: Finding) -> None:
        count = self.tally.count(finding)
        if self.on_violation is not None:
            self.on_violation(finding, count)

    def not_judged(self, why: str, curl: str) -> None:
        """An exchange of the endpoint seen but not judged, and why."""
        self.tally.not_judged(why, curl)

    def violations(self) -> dict[str, Any]:
        """The running tally: ``{"exchanges": n, "violations": [{rule, reason, count, curl}],
        "not_judged": [{why, count, curl}]}`` (exchanges of the endpoint no rule could judge)."""
        self._settle()
        unjudged = [{"why": w, "count": n, "curl": c} for w, n, c in self.tally.unjudged()]
        return {
            "exchanges": self.outcomes.requests,
            "violations": self.tally.violations(),
            "not_judged": unjudged,
        }

    def summary(self) -> Summary:
        self._settle()
        summary = self.outcomes.summary(
            base_url=self.config.base_url,
            profile=self.config.profile.value,
            elapsed=time.perf_counter() - self.started,
            coverage=self._ledger.to_dict(),
            not_judged=self.tally.unjudged(),
        )
        return covered(summary, self.config.min_coverage)
