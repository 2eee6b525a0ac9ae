"""Rules: one decorated function per rule of the contract.

Two kinds of rule, one registry::

    @response_rule(Profile.CONTRACT)
    def error_body_shape(ctx: KitContext, exchange: Exchange) -> Verdict: ...

    @scenario_rule(Profile.REFERENCE, requires=Requirement.SUBACCOUNT)
    def scope_includes_subaccounts(ctx: KitContext) -> None: ...

A *response rule* judges one response, whoever sent the request (the kit's
own targeted requests and every case schemathesis generates). A *scenario
rule* sends its own requests and judges how the answers relate. The function's
name is the rule's name on the command line, in reports and in config; its
docstring's first line is the rule's one-line summary. A rule fails by raising
a :class:`~usagekit.conformance.failures.ConformanceFailure`.

"Does this rule apply to this response?" lives in guard decorators
(:func:`when`), which return :data:`NOT_APPLICABLE` instead of nesting ifs in
every rule. Decorators only mark functions; :meth:`Registry.collect` builds
the registry from the modules it is given, by name -- nothing registers
itself as a side effect of an import.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from .profiles import Profile

if TYPE_CHECKING:
    from .context import KitContext
    from .exchange import Exchange

__all__ = [
    "NOT_APPLICABLE",
    "Registry",
    "Requirement",
    "Rule",
    "RuleKind",
    "Verdict",
    "response_rule",
    "scenario_rule",
    "when",
]

_MARK = "__usagekit_rule__"
F = TypeVar("F", bound=Callable[..., Any])


class _NotApplicable:
    def __repr__(self) -> str:
        return "NOT_APPLICABLE"


#: What a guarded rule returns when the response is not its business.
NOT_APPLICABLE = _NotApplicable()
Verdict = _NotApplicable | None


class RuleKind(StrEnum):
    RESPONSE = "response"
    SCENARIO = "scenario"


class Requirement(StrEnum):
    """What a rule needs from the command line; without it the rule is skipped."""

    SUBACCOUNT = "--subaccount-id and --subaccount-key"
    FOREIGN_ACCOUNT = "--foreign-account-id"
    DATA = "--data"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    name: str
    kind: RuleKind
    profile: Profile
    requires: frozenset[Requirement]
    summary: str
    func: Callable[..., Any]

    def run_response(self, ctx: KitContext, exchange: Exchange) -> Verdict:
        return self.func(ctx, exchange)

    def run_scenario(self, ctx: KitContext) -> None:
        self.func(ctx)


def _mark(kind: RuleKind, profile: Profile, requires: Iterable[Requirement]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        doc = inspect.getdoc(func) or ""
        summary = doc.splitlines()[0] if doc else func.__name__.replace("_", " ")
        setattr(
            func,
            _MARK,
            Rule(
                name=func.__name__,
                kind=kind,
                profile=profile,
                requires=frozenset(requires),
                summary=summary,
                func=func,
            ),
        )
        return func

    return decorate


def response_rule(profile: Profile, *, requires: Iterable[Requirement] = ()) -> Callable[[F], F]:
    """Mark ``func(ctx, exchange)`` as a rule that judges single responses."""
    return _mark(RuleKind.RESPONSE, profile, requires)


def scenario_rule(
    profile: Profile, *, requires: Requirement | Iterable[Requirement] = ()
) -> Callable[[F], F]:
    """Mark ``func(ctx)`` as a rule that sends its own requests."""
    needs = (requires,) if isinstance(requires, Requirement) else requires
    return _mark(RuleKind.SCENARIO, profile, needs)


def when(
    predicate: Callable[[Exchange], bool],
) -> Callable[
    [Callable[[KitContext, Exchange], Verdict]], Callable[[KitContext, Exchange], Verdict]
]:
    """Guard a response rule: it applies only to exchanges that satisfy ``predicate``."""

    def decorate(
        func: Callable[[KitContext, Exchange], Verdict],
    ) -> Callable[[KitContext, Exchange], Verdict]:
        @functools.wraps(func)
        def guarded(ctx: KitContext, exchange: Exchange) -> Verdict:
            if not predicate(exchange):
                return NOT_APPLICABLE
            return func(ctx, exchange)

        return guarded

    return decorate


@dataclass(frozen=True, slots=True)
class Registry:
    rules: tuple[Rule, ...]

    @classmethod
    def collect(cls, *modules: ModuleType) -> Registry:
        """Every rule marked in ``modules``, in the order they are defined."""
        found: list[Rule] = []
        for module in modules:
            for _, member in inspect.getmembers(module, inspect.isfunction):
                rule = getattr(member, _MARK, None)
                if rule is not None and member.__module__ == module.__name__:
                    found.append(rule)
        order = {id(m): i for i, m in enumerate(modules)}
        found.sort(key=lambda r: (order[id(_module_of(r, modules))], _line(r)))
        names = [r.name for r in found]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"rule names must be unique: {sorted(duplicated)}")
        return cls(tuple(found))

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def names(self) -> list[str]:
        return [rule.name for rule in self.rules]


def _module_of(rule: Rule, modules: tuple[ModuleType, ...]) -> ModuleType:
    return next(m for m in modules if m.__name__ == rule.func.__module__)


def _line(rule: Rule) -> int:
    return inspect.unwrap(rule.func).__code__.co_firstlineno
