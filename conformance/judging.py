"""Judge one exchange with every response rule: the one entry point for every caller.

``usagekit check`` (its own requests and schemathesis' cases), a live proxy
and a HAR replay all judge an exchange the same way::

    oracle = Oracle(config, dataset)            # once per run
    view = ExchangeView(exchange, oracle)       # once per exchange
    for judged in judge(view):                  # every response rule config selects
        if judged.failure is not None: ...

A rule that does not apply to the exchange is left out of the result; one
that holds is there with ``failure=None``. A rule that crashes on a server's
odd answer fails with the crash as its reason instead of taking the run down.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .failures import ConformanceFailure
from .outcomes import Outcomes
from .registry import NOT_APPLICABLE, Rule, RuleKind
from .rules import RULES
from .view import ExchangeView

__all__ = ["Judged", "declare_rules", "judge", "response_rules"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Judged:
    """One rule's verdict on one exchange: ``failure`` is ``None`` when the rule holds."""

    rule: Rule
    failure: ConformanceFailure | None

    @property
    def ok(self) -> bool:
        return self.failure is None


def response_rules(view: ExchangeView) -> list[Rule]:
    """The response rules the run's config selects (profile, requirements, --check)."""
    selected, _ = RULES.select(view.config)
    return [rule for rule in selected if rule.kind is RuleKind.RESPONSE]


def declare_rules(
    outcomes: Outcomes,
    skipped: Iterable[tuple[str, str]],
    kinds: Collection[RuleKind] = tuple(RuleKind),
) -> None:
    """Every rule of ``kinds`` in ``outcomes`` (so every report lists it), each skipped one why.

    ``skipped`` is the second half of :meth:`Registry.select`; a ``check`` run
    declares every rule, a proxy or a replay only the response rules it can run.
    """
    for rule in RULES:
        if rule.kind in kinds:
            outcomes.declare(
                rule.name,
                source="usagekit",
                kind=rule.kind.value,
                profile=rule.profile.value,
                summary=rule.summary,
            )
    named = {rule.name for rule in RULES if rule.kind in kinds}
    for name, why in skipped:
        if name in named:
            outcomes.skipped(name, why)


def judge(view: ExchangeView, rules: Iterable[Rule] | None = None) -> list[Judged]:
    """Every response rule in ``rules`` (default: :func:`response_rules`) on one exchange."""
    verdicts = []
    for rule in response_rules(view) if rules is None else rules:
        if rule.kind is not RuleKind.RESPONSE:
            raise ValueError(f"{rule.name} is a {rule.kind.value} rule, not a response rule")
        try:
            verdict = rule.func(view)  # Rule.run_response, without its frame
        except ConformanceFailure as failure:
            verdicts.append(Judged(rule=rule, failure=_attributed(failure, rule, view)))
        except Exception as exc:  # a rule must not take the run down with it
            failure = ConformanceFailure(f"could not judge the response: {exc!r}")
            verdicts.append(Judged(rule=rule, failure=_attributed(failure, rule, view)))
        else:
            if verdict is not NOT_APPLICABLE:
                held = _HELD.get(rule.name)  # looked up here, without a frame per rule
                verdicts.append(held if held is not None and held.rule is rule else _held(rule))
    return verdicts


#: Each rule's verdict "held", made once: a Judged is immutable, and a judged answer was
#: a dozen of them.
_HELD: dict[str, Judged] = {}


def _held(rule: Rule) -> Judged:
    """``rule``'s verdict "held", made and kept (the caller did not find it in _HELD)."""
    held = _HELD[rule.name] = Judged(rule=rule, failure=None)
    return held


def _attributed(failure: ConformanceFailure, rule: Rule, view: ExchangeView) -> ConformanceFailure:
    failure.for_rule(rule.name)
    if not failure.exchanges:
        failure.exchanges = (view.exchange,)
    return failure
