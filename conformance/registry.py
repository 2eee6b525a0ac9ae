"""Rules: one decorated function per rule of the contract.

Two kinds of rule, one registry::

    @response_rule(Profile.CONTRACT)
    @needs("error")
    def error_code_matches_status(view: ExchangeView) -> Verdict: ...

    @scenario_rule(Profile.REFERENCE, requires=Requirement.SUBACCOUNT)
    def scope_includes_subaccounts(ctx: KitContext) -> None: ...

A *response rule* judges one exchange, whoever sent the request (the kit's
own targeted requests, every case schemathesis generates, a proxied or
replayed exchange), from its :class:`~usagekit.conformance.view.ExchangeView`.
A *scenario
rule* sends its own requests and judges how the answers relate. The function's
name is the rule's name on the command line, in reports and in config; its
docstring's first line is the rule's one-line summary. A rule fails by raising
a :class:`~usagekit.conformance.failures.ConformanceFailure`.

"Does this rule apply to this exchange?" lives in guard decorators --
:func:`needs` names the view's readings a rule needs, :func:`when` any other
condition -- which return :data:`NOT_APPLICABLE` instead of nesting ifs in
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
from operator import attrgetter
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from .config import KitConfig, Requirement
from .profiles import Profile
from .view import ExchangeView

if TYPE_CHECKING:
    from .context import KitContext

__all__ = [
    "NOT_APPLICABLE",
    "Registry",
    "Rule",
    "RuleKind",
    "Verdict",
    "needs",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    name: str
    kind: RuleKind
    profile: Profile
    requires: frozenset[Requirement]
    summary: str
    func: Callable[..., Any]

    def run_response(self, view: ExchangeView) -> Verdict:
        return self.func(view)

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
    """Mark ``func(view)`` as a rule that judges single exchanges."""
    return _mark(RuleKind.RESPONSE, profile, requires)


def scenario_rule(
    profile: Profile, *, requires: Requirement | Iterable[Requirement] = ()
) -> Callable[[F], F]:
    """Mark ``func(ctx)`` as a rule that sends its own requests."""
    needs = (requires,) if isinstance(requires, Requirement) else requires
    return _mark(RuleKind.SCENARIO, profile, needs)


ResponseCheck = Callable[[ExchangeView], Verdict]


#: A guarded rule's checks and the function they guard (see _guard).
_GUARD = "__usagekit_guard__"
#: A check: a callable of the view, and whether it names a reading (else a predicate).
_Check = tuple[Callable[[ExchangeView], Any], bool]


def _guard(func: ResponseCheck, checks: tuple[_Check, ...]) -> ResponseCheck:
    """``func`` guarded by ``checks``, in order: a reading that is ``None`` or ``False``, or
    a predicate that is false, makes it not applicable. Guards stacked on a guarded rule
    join its checks in one wrapper (outer first): a wrapper and a call per reading were a
    twentieth of judging an answer whose body is small."""
    inner = getattr(func, _GUARD, None)
    if inner is not None:
        func, more = inner
        checks = (*checks, *more)

    @functools.wraps(func)
    def guarded(view: ExchangeView) -> Verdict:
        for check, reading in checks:
            value = check(view)
            if (value is None or value is False) if reading else not value:
                return NOT_APPLICABLE
        return func(view)

    setattr(guarded, _GUARD, (func, checks))
    return guarded


def when(predicate: Callable[[ExchangeView], bool]) -> Callable[[ResponseCheck], ResponseCheck]:
    """Guard a response rule: it applies only to exchanges whose view satisfies ``predicate``."""

    def decorate(func: ResponseCheck) -> ResponseCheck:
        return _guard(func, ((predicate, False),))

    return decorate


def needs(*readings: str) -> Callable[[ResponseCheck], ResponseCheck]:
    """Guard a response rule: it applies only when each named reading of the view is there.

    ``@needs("usage", "query")`` runs the rule on a well-formed 200 whose query
    the reference semantics read as valid; a reading that is ``None`` or
    ``False`` (see :mod:`usagekit.conformance.view`) makes it not applicable.
    """
    unknown = [name for name in readings if not hasattr(ExchangeView, name)]
    if unknown:
        raise ValueError(f"ExchangeView has no reading {', '.join(unknown)}")
    checks = tuple((attrgetter(name), True) for name in readings)

    def decorate(func: ResponseCheck) -> ResponseCheck:
        return _guard(func, checks)

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

    def select(self, config: KitConfig) -> tuple[list[Rule], list[tuple[str, str]]]:
        """The rules ``config`` applies, and why each other rule does not run.

        Raises ``ValueError`` naming rules ``--check``/``--skip-check`` asked for
        that do not exist.
        """
        unknown = (config.only | config.skip) - set(self.names())
        if unknown:
            raise ValueError(f"unknown rule(s): {', '.join(sorted(unknown))}")
        selected, skipped = [], []
        available = config.available()
        for rule in self.rules:
            if not config.profile.includes(rule.profile):
                skipped.append((rule.name, f"not part of the {config.profile.value} profile"))
            elif missing := sorted(rule.requires - available):
                skipped.append((rule.name, f"needs {', '.join(missing)}"))
            elif config.only and rule.name not in config.only:
                skipped.append((rule.name, "not selected (--check)"))
            elif rule.name in config.skip:
                skipped.append((rule.name, "excluded (--skip-check)"))
            else:
                selected.append(rule)
        return selected, skipped


def _module_of(rule: Rule, modules: tuple[ModuleType, ...]) -> ModuleType:
    return next(m for m in modules if m.__name__ == rule.func.__module__)


def _line(rule: Rule) -> int:
    return inspect.unwrap(rule.func).__code__.co_firstlineno
