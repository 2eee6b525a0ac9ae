"""One conformance run: preflight, generated cases, scenarios, summary.

``run(config, handlers)`` is the one entry point: the CLI builds the config
and the handlers and calls it. Data flows one way -- the runner asks the
server, the rules judge, the outcomes count, the handlers hear events -- and
nothing reaches back.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterable, Sequence

import httpx

from .budget import CUT_SHORT, NOT_STARTED, Budget, OutOfTime
from .client import Client
from .config import KitConfig
from .context import KitContext
from .coverage import cells_of, contract_ledger, covered
from .errors import BadOptions, Unreachable
from .events import (
    Event,
    Handler,
    RuleChecked,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
)
from .exchange import Exchange
from .failures import ConformanceFailure
from .generation import run_generated
from .inprocess import in_process
from .judging import declare_rules, judge
from .oracle import Oracle
from .outcomes import Finding, Outcomes, Summary, judged_of, tainted_text
from .preflight import check_options, load_data, preflight
from .registry import Rule, RuleKind
from .rules import RULES
from .view import ExchangeView

__all__ = ["run"]

SCENARIOS = "scenarios"


def run(
    config: KitConfig,
    handlers: Sequence[Handler] = (),
    *,
    transport: httpx.BaseTransport | None = None,
) -> Summary:
    """Judge the server ``config`` names; raises :class:`KitError` if it cannot.

    Within ``config.max_time``, if given: once it is spent nothing new starts, and the
    summary says what the budget stopped (:mod:`.budget`)."""
    started = time.perf_counter()
    budget = Budget.starting(config.max_time)
    check_options(config)
    dataset = load_data(config)
    with contextlib.ExitStack() as stack:
        if config.app is not None and transport is None:
            transport = stack.enter_context(in_process(config.app))
        client = Client(config, transport, budget)
        stack.callback(client.close)
        try:
            preflight(client, config)
            ready = True
        except OutOfTime:  # not one rule can run: each says so
            ready = False
        return _Run(config, client, Oracle(config, dataset), handlers, budget).go(started, ready)


class _Run:
    def __init__(
        self,
        config: KitConfig,
        client: Client,
        oracle: Oracle,
        handlers: Sequence[Handler],
        budget: Budget,
    ) -> None:
        self.config = config
        self.budget = budget
        self.handlers = handlers
        self.outcomes = Outcomes()
        self.selected, skipped = _select(config)
        declare_rules(self.outcomes, skipped)
        self.skipped = skipped
        self.responses = [r for r in self.selected if r.kind is RuleKind.RESPONSE]
        self.recent: list[Exchange] = []
        # What the current scenario sent, and how many of its exchanges failed which rules.
        self.sent, self.tainted, self.others = 0, 0, Counter[str]()
        self.oracle = oracle
        self.ledger = contract_ledger()
        self.ctx = KitContext(config=config, oracle=oracle, client=client, judge=self.judge)

    def go(self, started: float, ready: bool) -> Summary:
        """The run, once preflight held (``ready``) or the budget ended it first."""
        for handler in self.handlers:
            handler.start(
                RunStarted(
                    base_url=self.config.base_url,
                    profile=self.config.profile.value,
                    rules=len(self.selected),
                    skipped=tuple(self.skipped),
                )
            )
        try:
            if ready and self.config.max_examples > 0:
                self.emit_all(run_generated(self.config, self.judge, self.outcomes, self.budget))
            self.scenarios(ready)
            elapsed = time.perf_counter() - started
            ended = not ready or self.outcomes.stopped
            summary = covered(
                self.outcomes.summary(
                    base_url=self.config.base_url,
                    profile=self.config.profile.value,
                    elapsed=elapsed,
                    coverage=self.ledger.to_dict(),
                    budget=f"{self.budget.words()} after {elapsed:.1f} s" if ended else None,
                ),
                self.config.min_coverage,
            )
            self.emit(RunFinished(summary=summary))
            return summary
        finally:
            for handler in self.handlers:
                handler.shutdown()

    def emit(self, event: Event) -> None:
        for handler in self.handlers:
            handler.handle(event)

    def emit_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.emit(event)

    # -- judging -------------------------------------------------------------------

    def judge(self, exchange: Exchange) -> ExchangeView:
        """Every response rule on one exchange; its view, for the scenario that sent it."""
        self.outcomes.count_request()
        self.recent = [*self.recent[-2:], exchange]
        self.sent += 1
        view = ExchangeView(exchange, self.oracle)
        failed = []
        for judged in judge(view, self.responses):
            if judged.failure is None:
                self.outcomes.passed(judged.rule.name)
            else:
                self.fail(judged.rule, judged.failure, (exchange,))
                failed.append(judged.rule.name)
        if failed:
            self.tainted += 1
            self.others.update(failed)
        cells = cells_of(view)
        if cells is not None:
            self.ledger.record(cells)
        return view

    def fail(self, rule: Rule, failure: ConformanceFailure, shown: tuple[Exchange, ...]) -> str:
        """Counts the failure; returns its reason as the finding keeps it (cut to a bound)."""
        failure.for_rule(rule.name)
        exchanges = failure.exchanges or shown
        finding = Finding(
            rule=rule.name,
            title=failure.kind_title,
            reason=failure.reason,
            detail=failure.detail,
            judged=judged_of(exchanges),
        )
        self.outcomes.failed(rule.name, finding)
        return finding.reason

    def record_taint(self, rule: Rule) -> str | None:
        """Note which other rules this scenario's exchanges failed; the words for it, if any."""
        if not self.tainted:
            return None
        self.outcomes.tainted(
            rule.name, tainted=self.tainted, sent=self.sent, others=dict(self.others)
        )
        return tainted_text(self.tainted, self.sent, sorted(self.others))

    def scenarios(self, ready: bool) -> None:
        rules = [r for r in self.selected if r.kind is RuleKind.SCENARIO]
        self.emit(StageStarted(name=SCENARIOS, total=len(rules)))
        began = time.perf_counter()
        out = not ready
        for rule in rules:
            if out or self.budget.spent:  # nothing new starts
                out = True
                self.not_run(rule, NOT_STARTED)
                continue
            self.recent, self.sent, self.tainted, self.others = [], 0, 0, Counter()
            try:
                rule.run_scenario(self.ctx)
            except OutOfTime:  # what it saw so far is no verdict, and its taint is partial
                out = True
                self.not_run(rule, CUT_SHORT)
                continue
            except ConformanceFailure as failure:
                reason = self.fail(rule, failure, tuple(self.recent))
                self.record_taint(rule)
                self.emit(RuleChecked(stage=SCENARIOS, name=rule.name, ok=False, reason=reason))
                continue
            except Unreachable:
                raise
            except Exception as exc:  # the server's answer broke the scenario's reading
                failure = ConformanceFailure(f"could not complete: {exc!r}")
                reason = self.fail(rule, failure, tuple(self.recent))
                self.record_taint(rule)
                self.emit(RuleChecked(stage=SCENARIOS, name=rule.name, ok=False, reason=reason))
                continue
            self.outcomes.passed(rule.name)
            # A scenario whose own checks held is still not green when its answers broke
            # other rules: its row says so, and links to them.
            reason = self.record_taint(rule)
            self.emit(RuleChecked(stage=SCENARIOS, name=rule.name, ok=not reason, reason=reason))
        self.emit(StageFinished(name=SCENARIOS, elapsed=time.perf_counter() - began))

    def not_run(self, rule: Rule, reason: str) -> None:
        self.outcomes.not_run(rule.name, reason)
        self.emit(
            RuleChecked(
                stage=SCENARIOS, name=rule.name, ok=False, reason=f"not run: {reason}", ran=False
            )
        )


def _select(config: KitConfig) -> tuple[list[Rule], list[tuple[str, str]]]:
    """The rules this run applies, and why each other rule does not run."""
    try:
        return RULES.select(config)
    except ValueError as exc:
        raise BadOptions(str(exc)) from exc
