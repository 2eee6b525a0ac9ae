"""Typed failures: what a rule found wrong, with the request that shows it.

Hierarchy (all are schemathesis ``Failure``s, so a rule that runs inside a
schemathesis phase reports through schemathesis' own machinery)::

    ConformanceFailure        a rule of the contract does not hold
    ├── WrongStatus           the status is not one the rule allows
    ├── MalformedBody         the body is not the contract's shape
    ├── WrongValue            a field differs from what the query implies
    ├── BrokenRelation        two or more answers contradict each other
    ├── ReferenceMismatch     the answer differs from the reference aggregator's
    ├── TooSlow               the answer took longer than the rule allows, or never came
    ├── NoAnswer              the connection failed before an answer came
    └── TooLarge              the answer went on past what the kit reads

``reason`` is one line; ``detail`` may hold a diff. ``key`` drops duplicates:
the same rule failing for the same reason is one finding.
"""

from __future__ import annotations

from typing import ClassVar

from schemathesis.core.failures import Failure, Severity

from .exchange import OPERATION, Exchange

__all__ = [
    "BrokenRelation",
    "ConformanceFailure",
    "MalformedBody",
    "NoAnswer",
    "ReferenceMismatch",
    "TooLarge",
    "TooSlow",
    "WrongStatus",
    "WrongValue",
]


class ConformanceFailure(Failure):
    code: ClassVar[str] = "UK900"
    kind_title: ClassVar[str] = "Contract rule violated"

    __slots__ = ("detail", "exchanges", "reason", "rule")

    def __init__(
        self,
        reason: str,
        *,
        exchanges: tuple[Exchange, ...] = (),
        detail: str = "",
        rule: str = "",
    ) -> None:
        message = reason if not detail else f"{reason}\n{detail}"
        super().__init__(
            operation=OPERATION,
            title=rule or self.kind_title,
            message=message,
            severity=Severity.HIGH,
        )
        self.reason = reason
        self.detail = detail
        self.exchanges = exchanges
        self.rule = rule

    def for_rule(self, rule: str) -> ConformanceFailure:
        """This failure, attributed to ``rule`` (the registry fills it in)."""
        self.rule = rule
        self.title = rule
        return self

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.reason}"

    @property
    def _unique_key(self) -> str:
        return self.key


class WrongStatus(ConformanceFailure):
    code = "UK901"
    kind_title = "Unexpected status"


class MalformedBody(ConformanceFailure):
    code = "UK902"
    kind_title = "Body breaks the contract's shape"


class WrongValue(ConformanceFailure):
    code = "UK903"
    kind_title = "Field differs from what the query implies"


class BrokenRelation(ConformanceFailure):
    code = "UK904"
    kind_title = "Answers contradict each other"


class ReferenceMismatch(ConformanceFailure):
    code = "UK905"
    kind_title = "Answer differs from the reference aggregator"


class TooSlow(ConformanceFailure):
    code = "UK906"
    kind_title = "Answer too slow"


class NoAnswer(ConformanceFailure):
    code = "UK907"
    kind_title = "No answer"


class TooLarge(ConformanceFailure):
    code = "UK908"
    kind_title = "Answer too large"
